"""Vietnamese for the offline briefcase's messages and pages."""

VI = {
    "Documents above Mật are never taken offline.": "Tài liệu có độ mật trên mức Mật không bao giờ được mang theo ngoại tuyến.",
    "Only a published meeting or one in session can be taken offline.":
        "Chỉ phiên họp đã phát hành hoặc đang họp mới được mang theo ngoại tuyến.",
    "The secretariat has wiped the offline briefcase of this device.":
        "Văn phòng Chính phủ đã xóa từ xa cặp tài liệu ngoại tuyến trên thiết bị này.",
    "This offline briefcase belongs to a login that has ended. Take the meeting offline again.":
        "Cặp tài liệu ngoại tuyến này thuộc về một phiên đăng nhập đã kết thúc. Hãy mang phiên họp theo lại.",
    "This device is already wiped.": "Thiết bị này đã được xóa từ xa.",
    "This document is not in the offline briefcase of this device, or the briefcase is locked.":
        "Tài liệu này không có trong cặp tài liệu ngoại tuyến của thiết bị, hoặc cặp tài liệu đang bị khóa.",
    "Saved on this device; it will be sent when the tablet is back online.":
        "Đã lưu trên thiết bị; ghi chú sẽ được gửi khi máy có mạng trở lại.",
    "Offline briefcase": "Cặp tài liệu ngoại tuyến",
    "Documents above Mật are never taken offline: read this meeting's dossiers online.":
        "Tài liệu có độ mật trên mức Mật không được mang theo ngoại tuyến: hãy đọc hồ sơ phiên họp này khi có mạng.",
    "Take this meeting's dossiers (your own stamped copies), your notes and the agenda on this device, to read "
    "them without a network. They are encrypted and can be read only while you are logged in.":
        "Mang hồ sơ của phiên họp (bản sao đóng dấu của riêng đồng chí), ghi chú và chương trình họp vào thiết bị "
        "này để đọc khi không có mạng. Dữ liệu được mã hóa và chỉ đọc được khi đồng chí đang đăng nhập.",
    "Take offline": "Mang theo ngoại tuyến",
    "Open the briefcase": "Mở cặp tài liệu",
    "Remove from this device": "Xóa khỏi thiết bị này",
    "Devices holding this meeting offline": "Thiết bị đang giữ phiên họp này ngoại tuyến",
    "No device holds this meeting offline.": "Chưa có thiết bị nào giữ phiên họp này ngoại tuyến.",
    "Copying the dossiers to this device…": "Đang sao chép hồ sơ vào thiết bị…",
    "Available offline on this device since %(when)s.": "Đã có trên thiết bị này để đọc ngoại tuyến từ %(when)s.",
    "Removed from this device.": "Đã xóa khỏi thiết bị này.",
    "Wipe remotely": "Xóa từ xa",
    "Wipe this device's offline briefcase?": "Xóa từ xa cặp tài liệu ngoại tuyến của thiết bị này?",
    "%(name)s's copies on this device are deleted at its next connection, the key that opens them is refused "
    "from now on and the login on that device ends. This is recorded in the audit log.":
        "Bản sao của %(name)s trên thiết bị này sẽ bị xóa ở lần kết nối tiếp theo, khóa mở dữ liệu bị từ chối từ "
        "bây giờ và phiên đăng nhập trên thiết bị đó kết thúc. Thao tác được ghi vào nhật ký kiểm tra.",
    "Holds a copy": "Đang giữ bản sao",
    "Login ended: the copy can no longer be opened": "Phiên đăng nhập đã kết thúc: bản sao không còn mở được",
    "Wiped": "Đã xóa từ xa",
    "taken %(when)s": "mang theo lúc %(when)s",
    "The briefcase is locked: connect to the network and log in to open it. Copies are readable only in the tab "
    "where you logged in.":
        "Cặp tài liệu đang khóa: hãy kết nối mạng và đăng nhập để mở. Bản sao chỉ đọc được trong thẻ trình duyệt "
        "đã đăng nhập.",
    "No meeting is kept offline on this device. Open a meeting and choose “Take offline”.":
        "Chưa có phiên họp nào được lưu ngoại tuyến trên thiết bị này. Hãy mở một phiên họp và chọn "
        "“Mang theo ngoại tuyến”.",
    "Meetings on this device": "Phiên họp trên thiết bị này",
    "You are offline: reading the copies kept on this device.":
        "Thiết bị đang ngoại tuyến: đang đọc bản sao lưu trên thiết bị này.",
    "Connected. Notes written offline are sent when you open a page of the app.":
        "Đã có mạng. Ghi chú viết khi ngoại tuyến sẽ được gửi khi đồng chí mở một trang của hệ thống.",
    "Copied to this device on %(when)s.": "Sao chép vào thiết bị lúc %(when)s.",
    "All meetings on this device": "Tất cả phiên họp trên thiết bị này",
}
