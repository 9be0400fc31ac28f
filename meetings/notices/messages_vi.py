"""Vietnamese for the conclusion notices' and tasks' messages and pages."""

VI = {
    "A conclusion notice can be drawn up only after the session is closed.":
        "Chỉ lập thông báo kết luận sau khi phiên họp kết thúc.",
    "This meeting already has a conclusion notice.": "Phiên họp này đã có thông báo kết luận.",
    "The meeting has no conclusions to announce yet.": "Phiên họp chưa có kết luận nào để thông báo.",
    "The conclusion notice is issued and can no longer change.":
        "Thông báo kết luận đã được ban hành, không thể thay đổi.",
    "The conclusion notice is not issued yet: its tasks cannot be updated.":
        "Thông báo kết luận chưa được ban hành: chưa thể cập nhật nhiệm vụ.",
    "The signed conclusion notice could not be validated; nothing was recorded.":
        "Không xác thực được thông báo kết luận đã ký; chưa có gì được ghi nhận.",
    "Describe the task.": "Vui lòng nhập nội dung nhiệm vụ.",
    "The agenda item is not part of this meeting.": "Nội dung này không thuộc chương trình phiên họp.",
    "The person responsible must be an active member of the Government.":
        "Người chủ trì thực hiện phải là thành viên Chính phủ đang hoạt động.",
    "The deadline cannot be before today.": "Thời hạn không được trước ngày hôm nay.",
    "Write a note about the progress.": "Vui lòng ghi nội dung báo cáo tiến độ.",
    "Only the person responsible for the task or the secretariat can report on it.":
        "Chỉ người chủ trì nhiệm vụ hoặc Văn phòng Chính phủ được báo cáo tiến độ.",
    "The task is done. The secretariat can reopen it.":
        "Nhiệm vụ đã hoàn thành. Văn phòng Chính phủ có thể mở lại nhiệm vụ.",
    "The task is already done.": "Nhiệm vụ đã hoàn thành.",
    "Only a finished task can be reopened.": "Chỉ mở lại được nhiệm vụ đã hoàn thành.",
    # pages (templates/notices, the home section)
    "Add a task": "Thêm nhiệm vụ",
    "All": "Tất cả",
    "All follow-up tasks": "Tất cả nhiệm vụ",
    "Conclusion notice": "Thông báo kết luận",
    "Conclusion notices": "Thông báo kết luận",
    "Conclusions": "Kết luận",
    "Create the draft": "Lập dự thảo",
    "Draw up the conclusion notice": "Lập thông báo kết luận",
    "Follow-up tasks": "Nhiệm vụ được giao",
    "Issued": "Đã ban hành",
    "Mark done": "Xác nhận hoàn thành",
    "My follow-up tasks": "Nhiệm vụ của tôi",
    "No conclusion notice has been issued for this meeting.": "Phiên họp này chưa có thông báo kết luận.",
    "No conclusion notices yet.": "Chưa có thông báo kết luận nào.",
    "No follow-up tasks.": "Chưa có nhiệm vụ nào.",
    "No.": "số",
    "Notice": "Thông báo",
    "Opening text": "Phần mở đầu",
    "Preview (PDF)": "Xem trước (PDF)",
    "Progress note": "Nội dung báo cáo tiến độ",
    "Reopen": "Mở lại",
    "Report progress": "Báo cáo tiến độ",
    "Responsible": "Cơ quan chủ trì",
    "Sign and issue": "Ký số và ban hành",
    "Signed notice (PDF)": "Thông báo đã ký số (PDF)",
    "Status": "Trạng thái",
    "Task": "Nhiệm vụ",
    "The meeting as a whole": "Chung cho phiên họp",
    "The notice is drawn from the conclusions recorded in the session.":
        "Thông báo được lập từ các kết luận đã ghi nhận tại phiên họp.",
}
