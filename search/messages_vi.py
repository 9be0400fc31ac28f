"""Vietnamese for the messages and the page of the search package."""

VI = {
    "Enter at least one word to search for.": "Vui lòng nhập ít nhất một từ cần tìm.",
    "The search text is too long (at most 200 characters).": "Nội dung tìm kiếm quá dài (tối đa 200 ký tự).",
    # the page (templates/search)
    "Search": "Tìm kiếm",
    "Search meetings, dossiers, conclusions and ballots": "Tìm phiên họp, hồ sơ, kết luận và phiếu lấy ý kiến",
    "Words to find": "Từ cần tìm",
    "Type of result": "Loại kết quả",
    "Everything": "Tất cả",
    "Meeting": "Phiên họp",
    "Agenda item": "Nội dung chương trình",
    "Dossier": "Hồ sơ",
    "Conclusion": "Kết luận",
    "Opinion ballot": "Phiếu lấy ý kiến",
    "Nothing found that you may see.": "Không tìm thấy kết quả nào trong phạm vi đồng chí được xem.",
    "Diacritics are optional: \"nghi dinh\" also finds \"Nghị định\".":
        "Có thể gõ không dấu: \"nghi dinh\" cũng tìm được \"Nghị định\".",
    "results": "kết quả",
    'Opinion ballot %(number)s · deadline %(when)s': 'Phiếu lấy ý kiến %(number)s · hạn %(when)s',
}
