"""Vietnamese for the ballots' and the key store's messages (merged into the catalog by the lead)."""

VI = {
    "Only a draft ballot can be changed or issued.": "Chỉ phiếu lấy ý kiến ở trạng thái dự thảo mới được sửa hoặc phát hành.",
    "The ballot is not open for answers.": "Phiếu lấy ý kiến chưa mở để trả lời.",
    "The ballot is closed; answers are no longer accepted.": "Phiếu lấy ý kiến đã kết thúc; không nhận thêm ý kiến.",
    "The ballot is not closed yet.": "Phiếu lấy ý kiến chưa kết thúc.",
    "Only the secretariat can do this.": "Chỉ Văn phòng Chính phủ được thực hiện thao tác này.",
    "Answer every question once with agree, disagree or other.":
        "Vui lòng trả lời mỗi câu hỏi một lần: đồng ý, không đồng ý hoặc ý kiến khác.",
    "Every recipient must be an active member.": "Người nhận phải là thành viên Chính phủ đang hoạt động.",
    "An attached document does not exist.": "Tài liệu đính kèm không tồn tại.",
    "The deadline must be in the future.": "Thời hạn trả lời phải ở tương lai.",
    "The signed slip was refused.": "Phiếu đã ký bị từ chối.",
    "The signed slip is not the slip this server prepared for you.":
        "Phiếu đã ký không phải là phiếu hệ thống đã lập cho bạn.",
    "This slip was prepared before your current answer; get a new slip for the answer you want to give and sign "
    "it.": "Phiếu này được lập trước ý kiến hiện tại của bạn; vui lòng lấy phiếu mới cho ý kiến bạn muốn gửi "
           "và ký lại.",
    "The signed slip did not pass validation; nothing was recorded.":
        "Phiếu đã ký không qua được kiểm tra chữ ký; chưa có gì được ghi nhận.",
    "Upload the signed slip as a PDF file.": "Vui lòng tải lên phiếu đã ký dưới dạng tệp PDF.",
    "The timestamp service cannot be reached right now; your answer was not recorded. Please try again in a few "
    "minutes.": "Hiện không kết nối được dịch vụ cấp dấu thời gian; ý kiến của bạn chưa được ghi nhận. "
                "Vui lòng thử lại sau ít phút.",
    "The timestamp service could not be reached: the summary report was signed without a timestamp (PAdES B-B).":
        "Không kết nối được dịch vụ cấp dấu thời gian: báo cáo tổng hợp đã được ký số không kèm dấu thời gian "
        "(PAdES B-B).",
    "The PIN is wrong.": "Mã PIN không đúng.",
    "Signing is locked after too many wrong PINs. Ask the administrator to unlock it.":
        "Chức năng ký đã bị khóa do nhập sai mã PIN quá số lần cho phép. Vui lòng liên hệ quản trị hệ thống.",
    "You have no signing certificate yet. Ask the administrator to issue one.":
        "Bạn chưa có chứng thư số. Vui lòng liên hệ quản trị hệ thống để được cấp.",
    "The signing token cannot be reached.": "Không kết nối được thiết bị ký số.",
    "The PIN must have 4 to 64 characters.": "Mã PIN phải có từ 4 đến 64 ký tự.",
    "My opinion ballots": "Phiếu lấy ý kiến của tôi",
    "No opinion ballots yet.": "Chưa có phiếu lấy ý kiến nào.",
    "Opinion ballots": "Phiếu lấy ý kiến",
    "Deadline": "Thời hạn",
    "Answered": "Đã trả lời",
    "Pending": "Chưa trả lời",
    "Agree": "Đồng ý",
    "Disagree": "Không đồng ý",
    "Other opinion": "Ý kiến khác",
    "Comment": "Ý kiến",
    "PIN": "Mã PIN",
    "Sign and send": "Ký và gửi",
    "Receipt": "Biên nhận",
    "Signed slip": "Phiếu đã ký",
    "New ballot": "Tạo phiếu lấy ý kiến",
    "Board": "Theo dõi",
    "Issue": "Phát hành",
    "Close": "Kết thúc",
    "Summary report": "Báo cáo tổng hợp ý kiến",
    'Closed': 'Đã kết thúc',
    'Dossier': 'Hồ sơ',
    'Draft': 'Dự thảo',
    'Questions (one per line)': 'Câu hỏi (mỗi dòng một câu)',
    'Recipients': 'Thành viên được lấy ý kiến',
    'Save draft': 'Lưu dự thảo',
    'Summary': 'Tóm tắt nội dung',
    'Live updates': 'Cập nhật trực tiếp',
}
