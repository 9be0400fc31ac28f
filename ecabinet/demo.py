"""A demo Government: the Prime Minister, Deputy Prime Ministers, ministers, the Government Office.

The people are fictional; the offices are those of the Government of Viet Nam. Domain packages add
their own steps (a meeting with dossiers, an opinion ballot) through ``DEMO_STEPS``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from ecabinet.auth.models import Confidentiality, Role, User
from ecabinet.auth.service import create_user
from ecabinet.database import db

DEMO_PASSWORD = "matkhau-demo-2026"  # noqa: S105 (printed for the demo's laptops, never in production)
GOVERNMENT = "Chính phủ nước Cộng hòa xã hội chủ nghĩa Việt Nam"

# (username, full name, title, organisation)
CABINET: list[tuple[str, str, str, str]] = [
    ("thutuong", "Phạm Minh Quang", "Thủ tướng Chính phủ", "Chính phủ"),
    ("ptt.hoa", "Nguyễn Thị Hòa", "Phó Thủ tướng Thường trực", "Chính phủ"),
    ("ptt.long", "Trần Đức Long", "Phó Thủ tướng", "Chính phủ"),
    ("ptt.son", "Lê Hồng Sơn", "Phó Thủ tướng", "Chính phủ"),
    ("ptt.thanh", "Hồ Văn Thành", "Phó Thủ tướng", "Chính phủ"),
    ("bt.quocphong", "Võ Quốc Hưng", "Bộ trưởng Bộ Quốc phòng", "Bộ Quốc phòng"),
    ("bt.congan", "Đặng Văn Khải", "Bộ trưởng Bộ Công an", "Bộ Công an"),
    ("bt.ngoaigiao", "Bùi Thanh Hương", "Bộ trưởng Bộ Ngoại giao", "Bộ Ngoại giao"),
    ("bt.tuphap", "Đỗ Minh Tuấn", "Bộ trưởng Bộ Tư pháp", "Bộ Tư pháp"),
    ("bt.taichinh", "Nguyễn Văn Thắng", "Bộ trưởng Bộ Tài chính", "Bộ Tài chính"),
    ("bt.congthuong", "Phan Quốc Bảo", "Bộ trưởng Bộ Công Thương", "Bộ Công Thương"),
    ("bt.nongnghiep", "Lương Thị Mai", "Bộ trưởng Bộ Nông nghiệp và Môi trường", "Bộ Nông nghiệp và Môi trường"),
    ("bt.xaydung", "Trịnh Công Định", "Bộ trưởng Bộ Xây dựng", "Bộ Xây dựng"),
    ("bt.noivu", "Vũ Thị Lan", "Bộ trưởng Bộ Nội vụ", "Bộ Nội vụ"),
    ("bt.giaoduc", "Đinh Quang Vinh", "Bộ trưởng Bộ Giáo dục và Đào tạo", "Bộ Giáo dục và Đào tạo"),
    ("bt.yte", "Đào Hồng Nhung", "Bộ trưởng Bộ Y tế", "Bộ Y tế"),
    ("bt.khcn", "Tạ Minh Khôi", "Bộ trưởng Bộ Khoa học và Công nghệ", "Bộ Khoa học và Công nghệ"),
    ("bt.vanhoa", "Kiều Văn Phúc", "Bộ trưởng Bộ Văn hóa, Thể thao và Du lịch", "Bộ Văn hóa, Thể thao và Du lịch"),
    ("bt.dantoc", "Hà Thị Thảo", "Bộ trưởng Bộ Dân tộc và Tôn giáo", "Bộ Dân tộc và Tôn giáo"),
    ("thongdoc.nhnn", "Mai Xuân Trường", "Thống đốc Ngân hàng Nhà nước Việt Nam", "Ngân hàng Nhà nước Việt Nam"),
    ("ttcp", "Cao Đức Nghĩa", "Tổng Thanh tra Chính phủ", "Thanh tra Chính phủ"),
    ("bt.vpcp", "Lâm Thị Thu Hằng", "Bộ trưởng, Chủ nhiệm Văn phòng Chính phủ", "Văn phòng Chính phủ"),
]
STAFF: list[tuple[str, str, str, str, list[Role], Confidentiality]] = [
    ("vpcp.thuky", "Nguyễn Thị Thanh Hằng", "Chuyên viên chính, Vụ Tổng hợp", "Văn phòng Chính phủ",
     [Role.SECRETARY], Confidentiality.SECRET),
    ("quantri", "Trương Minh Đức", "Quản trị hệ thống", "Cục Tin học hóa, Văn phòng Chính phủ",
     [Role.ADMIN], Confidentiality.NORMAL),
    ("khach.vcci", "Hoàng Anh Tú", "Chủ tịch", "Liên đoàn Thương mại và Công nghiệp Việt Nam",
     [Role.GUEST], Confidentiality.NORMAL),
]

DEMO_STEPS: list[Callable[[], list[str]]] = []


def _ensure_user(username: str, full_name: str, title: str, organisation: str, roles: list[Role],
                 clearance: Confidentiality) -> User:
    existing = db.session.scalar(select(User).where(User.username == username))
    if existing is not None:
        return existing
    return create_user(username=username, full_name=full_name, password=DEMO_PASSWORD, title=title,
                       organisation=organisation, roles=roles, clearance=clearance, actor=None)


def load_demo() -> list[str]:
    """Create the demo accounts (idempotent) and run the domains' demo steps; return lines to print."""
    for index, (username, full_name, title, organisation) in enumerate(CABINET):
        roles = [Role.CHAIR, Role.MEMBER] if index == 0 else [Role.MEMBER]
        _ensure_user(username, full_name, title, organisation, roles, Confidentiality.SECRET)
    for username, full_name, title, organisation, roles, clearance in STAFF:
        _ensure_user(username, full_name, title, organisation, roles, clearance)
    lines = [f"Demo Government loaded: {len(CABINET)} members, secretariat, administrator, guest.",
             f"Password for every demo account: {DEMO_PASSWORD}",
             "  thutuong      Thủ tướng (chair)",
             "  bt.taichinh   Bộ trưởng Bộ Tài chính (member; others: bt.yte, ptt.hoa, ...)",
             "  vpcp.thuky    Văn phòng Chính phủ (secretary)",
             "  quantri       administrator",
             "  khach.vcci    invited guest"]
    for step in DEMO_STEPS:
        lines.extend(step())
    return lines
