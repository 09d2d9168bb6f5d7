/// A telephone number as people write them: digits with spaces, dashes, dots, parentheses and
/// a leading `+`; 7 to 15 digits (E.164's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let phone = raw.trim();
        let allowed = phone.chars().enumerate().all(|(i, c)| c.is_ascii_digit() || " -.()".contains(c) || (c == '+' && i == 0));
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if allowed && (7..=15).contains(&digits) {
            Ok(Self(phone.to_owned()))
        } else {
            Err("Enter a valid phone number (7 to 15 digits, optionally starting with +).".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text industry label: trimmed, at most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Industry(String);

impl Industry {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let industry = raw.trim();
        if industry.chars().count() > 100 {
            return Err("Ensure this field has no more than 100 characters.".into());
        }
        if industry.chars().any(char::is_control) {
            return Err("The industry may not contain control characters.".into());
        }
        Ok(Self(industry.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_common_spellings_parse_and_others_do_not() {
        for good in ["+1 (876) 555-0100", "876.555.0100", "5550100"] {
            assert!(PhoneNumber::parse(good).is_ok(), "{good}");
        }
        for bad in ["call me", "123", "+1 876 555 0100 0000 00", "1+2345678"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
