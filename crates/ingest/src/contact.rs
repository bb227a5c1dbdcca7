//! Phones and e-mails: normalised when they are valid, kept as written and
//! flagged when they are not. A bad phone is still information a manager can
//! use, so it never sends the customer to quarantine.

use phonenumber::country::Id as Region;

/// Trims and lower-cases; the flag says whether it looks like an address.
pub fn normalize_email(raw: &str) -> (String, bool) {
    let e = raw.trim().to_lowercase();
    let valid = is_valid_email(&e);
    (e, valid)
}

/// A pragmatic check: one `@`, a non-empty local part, a dotted domain,
/// no spaces. Deliverability is the mailing service's business.
fn is_valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !e.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// Phone normalisation for one default region.
#[derive(Debug, Clone)]
pub struct PhoneNormalizer {
    region: Option<Region>,
}

impl PhoneNormalizer {
    pub fn new(region: &str) -> Result<PhoneNormalizer, String> {
        let region = region
            .trim()
            .to_ascii_uppercase()
            .parse::<Region>()
            .map_err(|_| format!("'{region}' is not a phone region like RU or KZ"))?;
        Ok(PhoneNormalizer {
            region: Some(region),
        })
    }

    /// E.164 when valid (`8 (916) 123-45-67` → `+79161234567`), `None` otherwise.
    pub fn to_e164(&self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() || !raw.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let number = phonenumber::parse(self.region, raw).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        Some(number.format().mode(phonenumber::Mode::E164).to_string())
    }
}

/// The result of reading a phone cell that may hold several numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phones {
    /// The first valid number in E.164, or the first part as written.
    pub primary: String,
    pub primary_valid: bool,
    /// Every other part: E.164 when valid, as written otherwise.
    pub others: Vec<String>,
}

/// Splits `cell` on any of `seps` and picks the first valid number as primary.
pub fn split_phones(cell: &str, seps: &[String], norm: &PhoneNormalizer) -> Option<Phones> {
    let mut parts: Vec<&str> = vec![cell];
    for sep in seps.iter().filter(|s| !s.is_empty()) {
        parts = parts.iter().flat_map(|p| p.split(sep.as_str())).collect();
    }
    let parts: Vec<(&str, Option<String>)> = parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| (p, norm.to_e164(p)))
        .collect();
    if parts.is_empty() {
        return None;
    }
    let primary_at = parts.iter().position(|(_, e)| e.is_some());
    let (primary, primary_valid) = match primary_at {
        Some(i) => (parts[i].1.clone().unwrap_or_default(), true),
        None => (parts[0].0.to_string(), false),
    };
    let taken = primary_at.unwrap_or(0);
    let others = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != taken)
        .map(|(_, (raw, e164))| e164.clone().unwrap_or_else(|| raw.to_string()))
        .collect();
    Some(Phones {
        primary,
        primary_valid,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_numbers_become_e164() {
        let n = PhoneNormalizer::new("RU").unwrap();
        assert_eq!(
            n.to_e164("8 (916) 123-45-67").as_deref(),
            Some("+79161234567")
        );
        assert_eq!(
            n.to_e164("+7 916 123 45 67").as_deref(),
            Some("+79161234567")
        );
        assert_eq!(n.to_e164("9161234567").as_deref(), Some("+79161234567"));
        assert_eq!(n.to_e164("12345"), None);
    }

    #[test]
    fn the_first_valid_phone_is_primary() {
        let n = PhoneNormalizer::new("RU").unwrap();
        let seps = vec![",".to_string(), ";".to_string()];
        let p = split_phones("123; 8 916 123-45-67, +7 (495) 123-45-67", &seps, &n).unwrap();
        assert_eq!(p.primary, "+79161234567");
        assert!(p.primary_valid);
        assert_eq!(
            p.others,
            vec!["123".to_string(), "+74951234567".to_string()]
        );
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(
            normalize_email("  Ivan@Mail.RU "),
            ("ivan@mail.ru".into(), true)
        );
        assert!(!normalize_email("ivan@mail").1);
        assert!(!normalize_email("ivan mail.ru").1);
    }
}
