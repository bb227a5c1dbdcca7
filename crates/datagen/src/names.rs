//! People, companies, places and contact details. Russian names come with
//! gender-correct surname and patronymic endings; English names are plain
//! first + last. E-mails are derived from the transliterated name, so a
//! person's address looks like theirs.

use rand::Rng;

use crate::rng::pick_weighted;

const RU_MALE_FIRST: &[&str] = &[
    "Александр",
    "Алексей",
    "Андрей",
    "Антон",
    "Артём",
    "Борис",
    "Вадим",
    "Владимир",
    "Дмитрий",
    "Евгений",
    "Егор",
    "Иван",
    "Игорь",
    "Кирилл",
    "Константин",
    "Максим",
    "Михаил",
    "Никита",
    "Николай",
    "Олег",
    "Павел",
    "Роман",
    "Сергей",
    "Станислав",
    "Тимур",
    "Юрий",
];
const RU_FEMALE_FIRST: &[&str] = &[
    "Александра",
    "Алина",
    "Анастасия",
    "Анна",
    "Валерия",
    "Вера",
    "Виктория",
    "Дарья",
    "Екатерина",
    "Елена",
    "Елизавета",
    "Ирина",
    "Ксения",
    "Людмила",
    "Марина",
    "Мария",
    "Наталья",
    "Ольга",
    "Полина",
    "Светлана",
    "Софья",
    "Татьяна",
    "Юлия",
];
/// Surnames in the masculine form; the feminine form adds «а» (or «ая» for «-ий»).
const RU_SURNAMES: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Островский",
    "Вишневский",
];
/// Fathers' names with the (son, daughter) patronymics.
const RU_PATRONYMICS: &[(&str, &str)] = &[
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Андреевич", "Андреевна"),
    ("Владимирович", "Владимировна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Иванович", "Ивановна"),
    ("Игоревич", "Игоревна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Олегович", "Олеговна"),
    ("Павлович", "Павловна"),
    ("Петрович", "Петровна"),
    ("Сергеевич", "Сергеевна"),
    ("Юрьевич", "Юрьевна"),
    ("Викторович", "Викторовна"),
];
const EN_FIRST: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Thomas",
    "Daniel",
    "Oliver",
    "George",
    "Harry",
    "Jack",
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Susan",
    "Emma",
    "Olivia",
    "Sophie",
    "Emily",
    "Charlotte",
    "Anna",
];
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Green", "Baker",
];
const COMPANY_WORDS: &[&str] = &[
    "Ромашка",
    "Вектор",
    "Гранит",
    "Северный ветер",
    "Альфа-Трейд",
    "СтройМаркет",
    "Техносфера",
    "Прогресс",
    "Меридиан",
    "Горизонт",
    "Восток",
    "Континент",
    "Лидер",
    "Фортуна",
    "Сфера",
    "Атлант",
    "Орион",
    "Квант",
    "Пиксель",
    "Байкал",
];
const COMPANY_FORMS: &[(&str, f64)] = &[("ООО", 0.7), ("АО", 0.1), ("ПАО", 0.03), ("ИП", 0.17)];

/// Cities with rough shares of a Russian customer base.
pub(crate) const CITIES: &[(&str, f64)] = &[
    ("Москва", 0.30),
    ("Санкт-Петербург", 0.13),
    ("Новосибирск", 0.05),
    ("Екатеринбург", 0.05),
    ("Казань", 0.045),
    ("Нижний Новгород", 0.04),
    ("Челябинск", 0.035),
    ("Самара", 0.035),
    ("Ростов-на-Дону", 0.035),
    ("Уфа", 0.03),
    ("Краснодар", 0.035),
    ("Пермь", 0.025),
    ("Воронеж", 0.025),
    ("Волгоград", 0.02),
    ("Красноярск", 0.025),
    ("Тюмень", 0.02),
    ("Калининград", 0.015),
    ("Владивосток", 0.015),
    ("Сочи", 0.015),
    ("Ярославль", 0.015),
];

const EMAIL_DOMAINS: &[(&str, f64)] = &[
    ("mail.ru", 0.30),
    ("yandex.ru", 0.25),
    ("gmail.com", 0.20),
    ("bk.ru", 0.05),
    ("inbox.ru", 0.04),
    ("list.ru", 0.04),
    ("rambler.ru", 0.04),
    ("outlook.com", 0.04),
    ("ya.ru", 0.04),
];

/// A generated person or company.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// The display name as a CRM would hold it.
    pub full_name: String,
    /// Latin given name and surname, for the e-mail.
    pub latin_first: String,
    pub latin_last: String,
    pub female: bool,
    pub company: bool,
}

fn pick<'a, R: Rng>(rng: &mut R, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn feminine_surname(surname: &str) -> String {
    if let Some(stem) = surname.strip_suffix("ий") {
        format!("{stem}ая")
    } else {
        format!("{surname}а")
    }
}

/// A Russian person. Most names come as «Фамилия Имя Отчество»; some as
/// «Имя Фамилия», in capitals, or without a patronymic, as CRMs collect them.
pub(crate) fn russian_person<R: Rng>(rng: &mut R) -> Person {
    let female = rng.random_bool(0.55);
    let first = if female {
        pick(rng, RU_FEMALE_FIRST)
    } else {
        pick(rng, RU_MALE_FIRST)
    };
    let male_last = pick(rng, RU_SURNAMES);
    let last = if female {
        feminine_surname(male_last)
    } else {
        male_last.to_string()
    };
    let (son, daughter) = RU_PATRONYMICS[rng.random_range(0..RU_PATRONYMICS.len())];
    let patronymic = if female { daughter } else { son };
    let full_name = match rng.random_range(0..100) {
        0..=74 => format!("{last} {first} {patronymic}"),
        75..=86 => format!("{first} {last}"),
        87..=93 => format!("{last} {first}"),
        _ => format!("{last} {first} {patronymic}").to_uppercase(),
    };
    Person {
        full_name,
        latin_first: transliterate(first),
        latin_last: transliterate(&last),
        female,
        company: false,
    }
}

/// An English-speaking person.
pub(crate) fn english_person<R: Rng>(rng: &mut R) -> Person {
    let idx = rng.random_range(0..EN_FIRST.len());
    let first = EN_FIRST[idx];
    let last = pick(rng, EN_LAST);
    Person {
        full_name: format!("{first} {last}"),
        latin_first: first.to_lowercase(),
        latin_last: last.to_lowercase(),
        female: idx >= 12,
        company: false,
    }
}

/// A company or sole trader: «ООО «Вектор»», «ИП Петров А. С.».
pub(crate) fn company<R: Rng>(rng: &mut R) -> Person {
    let forms: Vec<f64> = COMPANY_FORMS.iter().map(|(_, w)| *w).collect();
    let form = COMPANY_FORMS[pick_weighted(rng, &forms)].0;
    if form == "ИП" {
        let p = russian_person(rng);
        let last = pick(rng, RU_SURNAMES);
        let initials: String = [pick(rng, RU_MALE_FIRST), pick(rng, RU_MALE_FIRST)]
            .iter()
            .map(|n| format!("{}.", n.chars().next().unwrap_or('А')))
            .collect::<Vec<_>>()
            .join(" ");
        return Person {
            full_name: format!("ИП {last} {initials}"),
            latin_first: p.latin_first,
            latin_last: transliterate(last),
            female: false,
            company: true,
        };
    }
    let word = pick(rng, COMPANY_WORDS);
    Person {
        full_name: format!("{form} «{word}»"),
        latin_first: "info".into(),
        latin_last: transliterate(word).replace([' ', '-'], ""),
        female: false,
        company: true,
    }
}

/// A city drawn by population share.
pub(crate) fn city<R: Rng>(rng: &mut R) -> &'static str {
    let weights: Vec<f64> = CITIES.iter().map(|(_, w)| *w).collect();
    CITIES[pick_weighted(rng, &weights)].0
}

/// A valid, lower-case e-mail derived from the person's name.
pub(crate) fn email<R: Rng>(rng: &mut R, p: &Person) -> String {
    let weights: Vec<f64> = EMAIL_DOMAINS.iter().map(|(_, w)| *w).collect();
    let domain = EMAIL_DOMAINS[pick_weighted(rng, &weights)].0;
    let first = &p.latin_first;
    let last = &p.latin_last;
    if p.company {
        return format!("{first}@{last}.ru");
    }
    let initial = first.chars().next().unwrap_or('x');
    match rng.random_range(0..5) {
        0 => format!("{first}.{last}@{domain}"),
        1 => format!("{last}{}@{domain}", rng.random_range(70..100)),
        2 => format!("{initial}.{last}@{domain}"),
        3 => format!("{first}_{last}{}@{domain}", rng.random_range(1..1000)),
        _ => format!("{last}.{first}@{domain}"),
    }
}

/// A present but invalid e-mail, spelled the ways broken imports spell them.
pub(crate) fn invalid_email<R: Rng>(rng: &mut R, p: &Person) -> String {
    let last = &p.latin_last;
    match rng.random_range(0..6) {
        0 => format!("{last}mail.ru"),
        1 => format!("{last}@@mail.ru"),
        2 => format!("{last}@yandex"),
        3 => format!("{} {last}@gmail.com", p.latin_first),
        4 => "нет".to_string(),
        _ => format!("{last}@mail,ru"),
    }
}

/// A valid Russian mobile number in E.164.
pub(crate) fn phone_e164<R: Rng>(rng: &mut R) -> String {
    let operator = [
        900, 903, 905, 909, 912, 915, 916, 917, 919, 925, 926, 950, 960, 977, 985, 999,
    ][rng.random_range(0..16)];
    format!("+7{operator}{:07}", rng.random_range(0..10_000_000u32))
}

/// A UK mobile number in E.164, for some English-speaking customers.
pub(crate) fn phone_uk<R: Rng>(rng: &mut R) -> String {
    format!("+447{:09}", rng.random_range(0..1_000_000_000u32))
}

/// A present but invalid phone, in the raw spellings that fail validation.
pub(crate) fn invalid_phone<R: Rng>(rng: &mut R) -> String {
    match rng.random_range(0..5) {
        0 => format!(
            "8 (9{:02}) {:03}-{:02}",
            rng.random_range(0..100),
            rng.random_range(0..1000),
            rng.random_range(0..100)
        ),
        1 => format!("{:06}", rng.random_range(0..1_000_000)),
        2 => "не указан".to_string(),
        3 => format!(
            "+7 9{:02} {:03} {:02} {:02} доб. 5",
            rng.random_range(0..100),
            rng.random_range(0..1000),
            rng.random_range(0..100),
            rng.random_range(0..100)
        )
        .chars()
        .take(12)
        .collect(),
        _ => "0".to_string(),
    }
}

/// Latin spelling of a Cyrillic name, close to the passport rules, lower case.
pub(crate) fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars().flat_map(char::to_lowercase) {
        let t = match ch {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' => "i",
            'й' => "y",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' | 'ь' => "",
            'ы' => "y",
            'ю' => "yu",
            'я' => "ya",
            c if c.is_ascii_alphanumeric() || c == ' ' || c == '-' => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(t);
    }
    out
}

/// A Russian full name for a manager (always «Фамилия Имя Отчество»).
pub(crate) fn manager_name<R: Rng>(rng: &mut R) -> String {
    loop {
        let p = russian_person(rng);
        let words = p.full_name.split(' ').count();
        if words == 3 && p.full_name.chars().nth(1).is_some_and(char::is_lowercase) {
            return p.full_name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    #[test]
    fn transliteration_follows_passport_rules() {
        assert_eq!(transliterate("Щукина"), "shchukina");
        assert_eq!(transliterate("Фёдоров"), "fedorov");
        assert_eq!(transliterate("Юрьевич"), "yurevich");
    }

    #[test]
    fn russian_names_agree_in_gender() {
        let mut rng = stream(3, Stream::Profile, 0);
        for _ in 0..500 {
            let p = russian_person(&mut rng);
            let name = p.full_name.to_lowercase();
            if p.female && name.split(' ').count() == 3 {
                assert!(name.contains("вна"), "{name}");
            }
            assert!(!p.latin_last.is_empty());
        }
        assert_eq!(feminine_surname("Островский"), "Островская");
    }

    #[test]
    fn contacts_have_the_expected_shapes() {
        let mut rng = stream(4, Stream::Profile, 0);
        for _ in 0..200 {
            let p = russian_person(&mut rng);
            let e = email(&mut rng, &p);
            assert_eq!(e.matches('@').count(), 1, "{e}");
            assert_eq!(e, e.to_lowercase());
            assert!(e.is_ascii(), "{e}");
            let ph = phone_e164(&mut rng);
            assert!(ph.starts_with("+79") && ph.len() == 12, "{ph}");
            let bad = invalid_phone(&mut rng);
            assert!(
                !(bad.starts_with('+')
                    && bad.len() == 12
                    && bad[1..].bytes().all(|b| b.is_ascii_digit())),
                "{bad}"
            );
        }
        let c = company(&mut rng);
        assert!(c.company);
        assert!(manager_name(&mut rng).split(' ').count() == 3);
    }
}
