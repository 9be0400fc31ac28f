"""Vietnamese for the documents package's messages; scripts/update_translations.py writes them into the catalog."""

VI = {
    'A dossier is added to a published meeting': 'Hồ sơ mới được bổ sung vào phiên họp đã phát hành',
    'New dossier: %(title)s': 'Hồ sơ mới: %(title)s',
    'A dossier I may read has a new version': 'Hồ sơ tôi được đọc có phiên bản mới',
    'New version of the dossier: %(title)s': 'Phiên bản mới của hồ sơ: %(title)s',
}
