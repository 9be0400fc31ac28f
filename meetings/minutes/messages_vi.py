"""Vietnamese for the minutes' messages."""

VI = {
    "Minutes can be drawn up only after the session is closed.": "Chỉ lập biên bản sau khi phiên họp kết thúc.",
    "The minutes have not been drawn up yet.": "Biên bản chưa được lập.",
    "The minutes are being signed and can no longer change.": "Biên bản đang được ký, không thể thay đổi.",
    "The minutes are already signed.": "Biên bản đã được ký.",
    "The secretary signs the minutes before the chair.": "Thư ký phải ký biên bản trước Chủ tọa.",
    "Only the secretary and the chair of the meeting sign its minutes.":
        "Chỉ Thư ký và Chủ tọa phiên họp được ký biên bản.",
    "The archive is available once the minutes are signed.": "Hồ sơ lưu trữ chỉ có sau khi biên bản được ký.",
    "The signed minutes could not be validated; nothing was recorded.":
        "Không xác thực được biên bản đã ký; chưa có gì được ghi nhận.",
    'One file (ZIP) holding the whole meeting: agenda, every document version, the signed minutes, votes, related signed ballot slips and the audit log.':
        'Một tệp (ZIP) chứa toàn bộ phiên họp: chương trình, mọi phiên bản tài liệu, biên bản đã ký, kết quả biểu quyết, '
        'phiếu lấy ý kiến đã ký liên quan và nhật ký hệ thống.',
    'Format: BagIt package with SHA-256 manifests.': 'Định dạng: gói BagIt, kèm danh mục mã băm SHA-256.',
    'Minutes wait for my signature': 'Biên bản chờ tôi ký',
    'Minutes awaiting your signature: %(title)s': 'Biên bản chờ đồng chí ký: %(title)s',
    "Your certificate's key stays on your own token: download the minutes, sign them with your own signing tool "
    "and upload them.":
        "Khóa của chứng thư số nằm trên thiết bị ký (token) của đồng chí: tải biên bản về, ký bằng công cụ ký số "
        "của đồng chí rồi tải lên.",
    "Download the minutes to sign. Do not change the file: only the exact file prepared here is accepted.":
        "Tải biên bản cần ký về. Không sửa tệp: chỉ chấp nhận đúng tệp đã chuẩn bị tại đây.",
    "Download the minutes to sign (PDF)": "Tải biên bản cần ký (PDF)",
    "Sign them in your signature box with your signing tool and the certificate registered for you here.":
        "Ký vào ô chữ ký của đồng chí bằng công cụ ký số, với chứng thư số đã đăng ký cho đồng chí tại đây.",
    "Signed minutes (PDF)": "Biên bản đã ký (PDF)",
    "Upload the signed minutes": "Tải lên biên bản đã ký",
    "Your signature is recorded.": "Chữ ký của đồng chí đã được ghi nhận.",
}
