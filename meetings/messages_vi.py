"""Vietnamese for the messages of meetings and documents (merged into the .po catalog by the lead)."""

VI = {
    "The meeting is already published.": "Phiên họp đã được phát hành.",
    "This person is already a participant.": "Người này đã có trong danh sách thành phần.",
    "A delegate represents a member of this meeting.": "Người được ủy quyền phải đại diện cho một thành viên của phiên họp này.",
    "Choose the agenda items the guest is invited to.": "Vui lòng chọn các nội dung mà đại biểu được mời tham dự.",
    "This participant is not a delegate.": "Người này không phải là người được ủy quyền.",
    "The chair has already approved this delegate.": "Chủ tọa đã chấp thuận người được ủy quyền này.",
    "Only members of this meeting can give a position on its items.": "Chỉ thành viên của phiên họp mới được cho ý kiến trước về các nội dung.",
    "Positions can be given only while the meeting is published, before the session.": "Chỉ được cho ý kiến trước khi phiên họp đã phát hành và chưa khai mạc.",
    "Your clearance does not allow you to read this document.": "Cấp độ tiếp cận bí mật của bạn không cho phép đọc tài liệu này.",
    "The file is empty.": "Tệp rỗng, không có nội dung.",
    "The file is larger than the allowed limit.": "Tệp vượt quá dung lượng cho phép.",
    "Only PDF files are accepted.": "Chỉ chấp nhận tệp PDF.",
    "Encrypted PDF files are not accepted. Remove the password and upload again.": "Không chấp nhận tệp PDF có mật khẩu. Vui lòng gỡ mật khẩu rồi tải lên lại.",
    "The PDF file is damaged and cannot be read.": "Tệp PDF bị hỏng, không đọc được.",
    "The PDF contains active content that cannot be removed.": "Tệp PDF chứa nội dung thực thi không thể loại bỏ.",
    "This version does not exist.": "Phiên bản này không tồn tại.",
}
