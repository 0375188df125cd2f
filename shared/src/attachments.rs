//! Which files may be attached: a fixed allow-list, checked on the file name's extension *and* on the
//! content's signature (its first bytes), so a renamed executable is refused however it is named. At most
//! [`MAX_ATTACHMENT_BYTES`].

use crate::json::{FromJson, ToJson};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The largest attachment, in bytes (100 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;
/// How many leading bytes [`check`] needs to recognise any allowed kind.
pub const SIGNATURE_BYTES: usize = 512;
/// Longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// The kinds of file Confab accepts (the webchat channel's list in the seed documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToJson, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Png,
    Jpeg,
    Gif,
    Webp,
    Mp3,
    Mp4,
    Pdf,
    Docx,
    Txt,
    Rtf,
    Pages,
    Csv,
    Xlsx,
    Numbers,
    Pptx,
    Key,
}

impl FileKind {
    /// The allowed names for a file picker's `accept` attribute (the same list [`FileKind::from_name`] takes).
    pub const PICKER_ACCEPT: &'static str =
        ".png,.jpg,.jpeg,.gif,.webp,.mp3,.mp4,.pdf,.docx,.txt,.rtf,.pages,.csv,.xlsx,.numbers,.pptx,.key";

    /// The kind named by a file name's extension (case-insensitive).
    pub fn from_name(name: &str) -> Option<FileKind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => FileKind::Png,
            "jpg" | "jpeg" => FileKind::Jpeg,
            "gif" => FileKind::Gif,
            "webp" => FileKind::Webp,
            "mp3" => FileKind::Mp3,
            "mp4" => FileKind::Mp4,
            "pdf" => FileKind::Pdf,
            "docx" => FileKind::Docx,
            "txt" => FileKind::Txt,
            "rtf" => FileKind::Rtf,
            "pages" => FileKind::Pages,
            "csv" => FileKind::Csv,
            "xlsx" => FileKind::Xlsx,
            "numbers" => FileKind::Numbers,
            "pptx" => FileKind::Pptx,
            "key" => FileKind::Key,
            _ => return None,
        })
    }

    /// The `Content-Type` the file is served with.
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
            FileKind::Webp => "image/webp",
            FileKind::Mp3 => "audio/mpeg",
            FileKind::Mp4 => "video/mp4",
            FileKind::Pdf => "application/pdf",
            FileKind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            FileKind::Txt => "text/plain; charset=utf-8",
            FileKind::Rtf => "application/rtf",
            FileKind::Pages => "application/vnd.apple.pages",
            FileKind::Csv => "text/csv; charset=utf-8",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Numbers => "application/vnd.apple.numbers",
            FileKind::Pptx => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            FileKind::Key => "application/vnd.apple.keynote",
        }
    }

    /// Every kind, for reading a kind's wire name.
    pub const ALL: [FileKind; 16] = [
        FileKind::Png,
        FileKind::Jpeg,
        FileKind::Gif,
        FileKind::Webp,
        FileKind::Mp3,
        FileKind::Mp4,
        FileKind::Pdf,
        FileKind::Docx,
        FileKind::Txt,
        FileKind::Rtf,
        FileKind::Pages,
        FileKind::Csv,
        FileKind::Xlsx,
        FileKind::Numbers,
        FileKind::Pptx,
        FileKind::Key,
    ];

    /// The kind on the wire (what serde writes for it).
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Png => "png",
            FileKind::Jpeg => "jpeg",
            FileKind::Gif => "gif",
            FileKind::Webp => "webp",
            FileKind::Mp3 => "mp3",
            FileKind::Mp4 => "mp4",
            FileKind::Pdf => "pdf",
            FileKind::Docx => "docx",
            FileKind::Txt => "txt",
            FileKind::Rtf => "rtf",
            FileKind::Pages => "pages",
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
            FileKind::Numbers => "numbers",
            FileKind::Pptx => "pptx",
            FileKind::Key => "key",
        }
    }

    /// Images get an inline preview.
    pub fn is_image(self) -> bool {
        matches!(self, FileKind::Png | FileKind::Jpeg | FileKind::Gif | FileKind::Webp)
    }

    /// Whether `head` (the file's first bytes) looks like this kind.
    fn signature_matches(self, head: &[u8]) -> bool {
        match self {
            FileKind::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
            FileKind::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
            FileKind::Gif => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
            FileKind::Webp => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
            // An ID3 tag, or straight into an MPEG audio frame (11 sync bits set).
            FileKind::Mp3 => {
                head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
            }
            FileKind::Mp4 => head.len() >= 8 && &head[4..8] == b"ftyp",
            FileKind::Pdf => head.starts_with(b"%PDF-"),
            FileKind::Rtf => head.starts_with(b"{\\rtf"),
            // Office Open XML and Apple iWork documents are ZIP packages.
            FileKind::Docx
            | FileKind::Xlsx
            | FileKind::Pptx
            | FileKind::Pages
            | FileKind::Numbers
            | FileKind::Key => head.starts_with(b"PK\x03\x04"),
            FileKind::Txt | FileKind::Csv => looks_like_text(head),
        }
    }
}

/// Text: no NUL bytes and valid UTF-8, allowing a character cut at the end of the sample.
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// Why an attachment was refused. Each has a stable code for the client and a message for the person.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refused {
    #[error(
        "{name:?} is not a file type that can be sent (allowed: images, mp3, mp4, pdf, documents, spreadsheets, presentations)"
    )]
    TypeNotAllowed { name: String },
    #[error("{name:?} does not contain what its name says (it is not a real .{ext} file)")]
    ContentMismatch { name: String, ext: String },
    #[error("{name:?} is {size} bytes; the limit is 100 MB")]
    TooLarge { name: String, size: u64 },
    #[error("{name:?} is empty")]
    Empty { name: String },
}

impl Refused {
    /// The stable error code of this refusal.
    pub fn code(&self) -> crate::errors::ErrorCode {
        use crate::errors::ErrorCode;
        match self {
            Refused::TypeNotAllowed { .. } | Refused::ContentMismatch { .. } => ErrorCode::AttachmentType,
            Refused::TooLarge { .. } => ErrorCode::AttachmentTooLarge,
            Refused::Empty { .. } => ErrorCode::BadRequest,
        }
    }
}

/// Checks the name and size only: what a client can check before uploading anything.
pub fn precheck(name: &str, size: u64) -> Result<FileKind, Refused> {
    let kind = FileKind::from_name(name).ok_or_else(|| Refused::TypeNotAllowed { name: name.to_owned() })?;
    if size == 0 {
        return Err(Refused::Empty { name: name.to_owned() });
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(Refused::TooLarge { name: name.to_owned(), size });
    }
    Ok(kind)
}

/// Checks name, size and content: `head` is the file's first bytes (up to [`SIGNATURE_BYTES`]).
pub fn check(name: &str, size: u64, head: &[u8]) -> Result<FileKind, Refused> {
    let kind = precheck(name, size)?;
    if !kind.signature_matches(&head[..head.len().min(SIGNATURE_BYTES)]) {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        return Err(Refused::ContentMismatch { name: name.to_owned(), ext });
    }
    Ok(kind)
}

/// The name an upload is kept under: the base name only (a browser or a script may send a whole path, and
/// the name must never name a folder), trimmed, without control characters, at most [`MAX_FILE_NAME_CHARS`].
/// `None` when nothing is left: the uploader has to say what the file is called.
pub fn clean_file_name(given: &str) -> Option<String> {
    let name: String = given
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The `Content-Disposition` a download is served with: images `inline` (previews), everything else as an
/// `attachment`, and a name that cannot end the quoted string or the header (no `"`, `\`, control characters).
pub fn content_disposition(name: &str, kind: Option<FileKind>) -> String {
    let disposition = if kind.is_some_and(FileKind::is_image) { "inline" } else { "attachment" };
    let safe_name: String = name.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    if safe_name.is_ascii() {
        return format!("{disposition}; filename=\"{safe_name}\"");
    }
    // A header carries ASCII only: the name itself goes in `filename*` (RFC 6266, UTF-8 percent-encoded),
    // with an ASCII stand-in for clients that only read `filename`.
    let stand_in: String = safe_name.chars().map(|c| if c.is_ascii() { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in safe_name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{stand_in}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_keep_the_base_name_only() {
        assert_eq!(clean_file_name("photo.png").as_deref(), Some("photo.png"));
        assert_eq!(clean_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_file_name("C:\\Users\\ada\\Desktop\\cv.pdf").as_deref(), Some("cv.pdf"));
        assert_eq!(clean_file_name("a/b\\ c.txt ").as_deref(), Some("c.txt"), "trimmed");
        assert_eq!(clean_file_name("in\nvoice\u{0}.pdf\r").as_deref(), Some("invoice.pdf"));
    }

    #[test]
    fn an_upload_name_is_capped_and_never_empty() {
        let longest = format!("{}.png", "é".repeat(MAX_FILE_NAME_CHARS - 4));
        assert_eq!(clean_file_name(&longest), Some(longest.clone()), "200 characters are kept whole");
        let over = format!("é{longest}");
        assert_eq!(clean_file_name(&over), Some(format!("{}.pn", "é".repeat(MAX_FILE_NAME_CHARS - 3))));
        for nothing in ["", "   ", "folder/", "a\\", "\u{7}\n"] {
            assert_eq!(clean_file_name(nothing), None, "{nothing:?}");
        }
    }

    #[test]
    fn downloads_show_images_inline_and_names_cannot_break_the_header() {
        assert_eq!(content_disposition("cat.png", Some(FileKind::Png)), r#"inline; filename="cat.png""#);
        assert_eq!(content_disposition("cv.pdf", Some(FileKind::Pdf)), r#"attachment; filename="cv.pdf""#);
        assert_eq!(content_disposition("file", None), r#"attachment; filename="file""#);
        assert_eq!(
            content_disposition("a\"; filename=\"evil.html\\\r\nX: y.txt", Some(FileKind::Txt)),
            r#"attachment; filename="a; filename=evil.htmlX: y.txt""#
        );
        assert_eq!(
            content_disposition("Übersicht März.pdf", Some(FileKind::Pdf)),
            "attachment; filename=\"_bersicht M_rz.pdf\"; filename*=UTF-8''%C3%9Cbersicht%20M%C3%A4rz.pdf"
        );
        assert_eq!(
            content_disposition("猫 \"1\".png", Some(FileKind::Png)),
            "inline; filename=\"_ 1.png\"; filename*=UTF-8''%E7%8C%AB%201.png"
        );
        assert!(content_disposition("😀.txt", None).is_ascii(), "a header value is ASCII");
    }

    #[test]
    fn the_file_pickers_list_is_exactly_the_allowed_names() {
        for ext in FileKind::PICKER_ACCEPT.split(',') {
            assert!(FileKind::from_name(&format!("file{ext}")).is_some(), "{ext} is offered but refused");
        }
        assert_eq!(FileKind::PICKER_ACCEPT.split(',').count(), 17, "every allowed name is offered");
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn every_allowed_kind_is_accepted_with_its_signature() {
        let samples: [(&str, &[u8]); 17] = [
            ("a.png", PNG),
            ("a.JPG", &[0xFF, 0xD8, 0xFF, 0xE0]),
            ("a.jpeg", &[0xFF, 0xD8, 0xFF, 0xDB]),
            ("a.gif", b"GIF89a\x01\x00"),
            ("a.webp", b"RIFF\x24\0\0\0WEBPVP8 "),
            ("a.mp3", b"ID3\x04\0"),
            ("a.mp4", b"\0\0\0\x18ftypmp42"),
            ("a.pdf", b"%PDF-1.7\n"),
            ("a.docx", b"PK\x03\x04\x14\0"),
            ("a.txt", "héllo\nworld".as_bytes()),
            ("a.rtf", b"{\\rtf1\\ansi"),
            ("a.pages", b"PK\x03\x04"),
            ("a.csv", b"name,qty\nmug,2\n"),
            ("a.xlsx", b"PK\x03\x04"),
            ("a.numbers", b"PK\x03\x04"),
            ("a.pptx", b"PK\x03\x04"),
            ("a.key", b"PK\x03\x04"),
        ];
        for (name, head) in samples {
            assert!(check(name, 1000, head).is_ok(), "{name} should be accepted");
        }
    }

    #[test]
    fn other_types_are_refused_by_name() {
        for name in ["setup.exe", "script.js", "page.html", "archive.zip", "noextension", "image.svg"] {
            assert_eq!(precheck(name, 10), Err(Refused::TypeNotAllowed { name: name.into() }), "{name}");
        }
    }

    #[test]
    fn a_renamed_file_is_refused_by_content() {
        let exe = b"MZ\x90\0\x03\0\0\0";
        let refused = check("holiday.png", 1000, exe);
        assert_eq!(refused, Err(Refused::ContentMismatch { name: "holiday.png".into(), ext: "png".into() }));
        assert_eq!(refused.err().map(|r| r.code()), Some(crate::errors::ErrorCode::AttachmentType));
        assert!(check("notes.txt", 8, b"\x7fELF\0\0\0\0").is_err(), "binary is not text");
    }

    #[test]
    fn size_limit_is_100_mib_inclusive_and_empty_files_are_refused() {
        assert!(check("a.png", MAX_ATTACHMENT_BYTES, PNG).is_ok());
        assert!(matches!(check("a.png", MAX_ATTACHMENT_BYTES + 1, PNG), Err(Refused::TooLarge { .. })));
        assert!(matches!(precheck("a.png", 0), Err(Refused::Empty { .. })));
    }

    #[test]
    fn text_cut_mid_character_at_the_sample_end_is_still_text() {
        let mut head = "ok é".as_bytes().to_vec();
        head.pop();
        assert!(check("a.txt", 100, &head).is_ok());
    }
}
