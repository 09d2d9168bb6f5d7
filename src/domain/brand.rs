/// `#rrggbb` (any case, stored lower): the only colour text that may reach a style sheet, a
/// page or a mail.
pub fn parse_color(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let ok = text.len() == 7 && text.starts_with('#') && text[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(text.to_ascii_lowercase()) } else { Err("Enter a colour as #rrggbb, e.g. #1f6feb.".into()) }
}
