//! Seeded generators of fictional entities (towns, people, birds, shops) whose attributes fill the article
//! templates' slots. All places, people and species are invented; numbers are plausible, not real.

use super::template::Rng;
use std::collections::BTreeMap;

/// Slot map of one entity.
pub type Slots = BTreeMap<String, String>;

const ONSETS: &[&str] = &[
    "Ald", "Bran", "Cor", "Dun", "Els", "Fal", "Gar", "Hal", "Ives", "Kel", "Lan", "Mor", "Nes", "Orm", "Pel", "Quen",
    "Rav", "Sel", "Tav", "Ul", "Var", "Wen", "Yar", "Bel", "Cal", "Dar", "Fen", "Grim", "Hes", "Lor", "Mar", "Ost",
    "Ren", "Stro", "Thal", "Wis",
];
const MIDDLES: &[&str] = &["", "", "a", "e", "i", "o", "er", "en", "el", "ow", "in", "ar"];
const SUFFIXES: &[&str] = &[
    "mere", "wick", "bury", "ford", "by", "thorpe", "stead", "worth", "combe", "holm", "field", "bridge", "haven",
    "moor", "ton", "ley", "dale", "gate",
];
const RIVERS: &[&str] = &[
    "Elst", "Vardle", "Corran", "Missel", "Tarrow", "Oune", "Brisk", "Lathe", "Senna", "Wender", "Ambry", "Kell",
    "Dovey", "Halse", "Rune", "Quill", "Fenna", "Ister", "Morrow", "Sallow",
];
const FIRST_M: &[&str] = &[
    "Thomas",
    "Edmund",
    "Arthur",
    "Henry",
    "Walter",
    "Samuel",
    "Joseph",
    "Frederick",
    "Albert",
    "Hugh",
    "Martin",
    "Oliver",
    "Daniel",
    "Gregory",
    "Felix",
    "Leonard",
    "Victor",
    "Jonah",
    "Owen",
    "Silas",
    "Peter",
    "Lewis",
];
const FIRST_F: &[&str] = &[
    "Margaret", "Eleanor", "Clara", "Agnes", "Harriet", "Edith", "Lucy", "Rosalind", "Beatrice", "Ada", "Helen",
    "Frances", "Miriam", "Louisa", "Ivy", "Ruth", "Anna", "Dorothy", "Grace", "Matilda", "Sophia", "Vera",
];
const SURNAME_A: &[&str] = &[
    "Ash", "Black", "Brook", "Cald", "Craw", "Dell", "Fair", "Gold", "Hawk", "Hollin", "Kirk", "Lang", "Marsh",
    "North", "Pen", "Rad", "Shaw", "Sted", "Thorn", "Well", "Whit", "Wood", "Ayl", "Brad",
];
const SURNAME_B: &[&str] = &[
    "ford", "well", "worth", "man", "ley", "er", "by", "wick", "cott", "more", "ham", "den", "ridge", "field", "son",
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A fictional place name such as `Tavelmere` or `Corbridge`.
pub fn place_name(rng: &mut Rng) -> String {
    let mid = *rng.pick(MIDDLES);
    let suf = *rng.pick(SUFFIXES);
    format!("{}{}{}", rng.pick(ONSETS), mid, suf)
}

/// A person's name: (first, surname, is_female).
pub fn person_name(rng: &mut Rng) -> (String, String, bool) {
    let female = rng.chance(0.5);
    let first = if female { rng.pick(FIRST_F) } else { rng.pick(FIRST_M) };
    (
        first.to_string(),
        format!("{}{}", rng.pick(SURNAME_A), rng.pick(SURNAME_B)),
        female,
    )
}

fn full_name(rng: &mut Rng) -> String {
    let (f, s, _) = person_name(rng);
    format!("{f} {s}")
}

/// `12345` → `12,345`.
pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn ordinal_century(year: i64) -> &'static str {
    const C: &[&str] = &[
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
        "twentieth",
        "twenty-first",
    ];
    C[((year.max(1) - 1) / 100).min(20) as usize]
}

const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// (industry, workers, product, material)
const INDUSTRIES: &[(&str, &str, &str, &str)] = &[
    (
        "pottery",
        "potters",
        "glazed stoneware jars",
        "clay dug from the river banks",
    ),
    (
        "wool trade",
        "wool merchants",
        "heavy woollen cloth",
        "fleeces from the hill farms",
    ),
    (
        "clockmaking",
        "clockmakers",
        "long-case clocks",
        "brass cast in small local foundries",
    ),
    (
        "glassmaking",
        "glassblowers",
        "green bottle glass",
        "fine sand carted from the coast",
    ),
    (
        "paper milling",
        "papermakers",
        "writing paper",
        "linen rags and clean river water",
    ),
    (
        "rope making",
        "rope makers",
        "ship's rigging",
        "hemp grown on the valley floor",
    ),
    (
        "leather tanning",
        "tanners",
        "saddles and boots",
        "oak bark from the surrounding woods",
    ),
    (
        "cheese making",
        "cheesemakers",
        "a hard, crumbly cheese",
        "milk from the lowland dairies",
    ),
    (
        "salt production",
        "salt boilers",
        "coarse sea salt",
        "brine pumped from underground springs",
    ),
    (
        "boatbuilding",
        "shipwrights",
        "flat-bottomed river barges",
        "timber floated down from the forests",
    ),
    (
        "brewing",
        "brewers",
        "a dark, malty ale",
        "barley from the surrounding farms",
    ),
    (
        "textile dyeing",
        "dyers",
        "blue and madder-red cloth",
        "plants grown in walled dye gardens",
    ),
    (
        "printing",
        "printers",
        "almanacs and school books",
        "paper bought from mills upstream",
    ),
    (
        "furniture making",
        "cabinetmakers",
        "oak chairs and tables",
        "timber from managed woodland",
    ),
];
const MODERN: &[&str] = &[
    "small software companies",
    "tourism and hospitality",
    "a regional hospital",
    "warehousing and logistics",
    "a university research campus",
    "food processing",
    "wind and solar energy firms",
    "specialist engineering workshops",
];
const FOUNDERS: &[&str] = &[
    "a small community of monks",
    "fishing families who settled at the river mouth",
    "farmers clearing land on the valley floor",
    "a ferryman and the travellers he carried",
    "miners who worked the nearby hills",
    "merchants who needed a safe crossing point",
];
const FESTIVALS: &[&str] = &[
    "Lantern Fair",
    "Harvest Walk",
    "River Regatta",
    "Spring Market",
    "Bell Festival",
    "Lamb Fair",
    "Apple Day",
    "Boat Procession",
    "Midsummer Fair",
    "Winter Lights",
];
const DISHES: &[&str] = &[
    "a pie of mutton and barley",
    "smoked river trout served with rye bread",
    "a sweet oat cake baked with honey",
    "a thick bean and bacon soup",
    "spiced apple dumplings",
    "salted eel with onions",
    "a pasty filled with potato and swede",
];
const CROPS: &[&str] = &["barley", "oats", "apples", "potatoes", "hops", "wheat", "flax"];
const SAINTS: &[&str] = &[
    "Alda", "Brannoc", "Cuthwin", "Elfrida", "Oswin", "Petroc", "Wenna", "Kea",
];
const JOBS: &[&str] = &[
    "engineer",
    "botanist",
    "novelist",
    "astronomer",
    "composer",
    "mapmaker",
    "physician",
    "painter",
];

fn set(s: &mut Slots, k: &str, v: impl Into<String>) {
    s.insert(k.to_string(), v.into());
}

/// Slots for a fictional town.
pub fn town(rng: &mut Rng) -> Slots {
    let mut s = Slots::new();
    let name = place_name(rng);
    let founded = rng.range(880, 1680);
    let (ind, workers, product, material) = *rng.pick(INDUSTRIES);
    let pop = rng.range(3, 160) * 1000 + rng.range(0, 999);
    let old_year = rng.range(1880, 1925);
    let pop_old = pop * rng.range(35, 90) / 100;
    let station_year = rng.range(1838, 1885);
    set(&mut s, "town", name.clone());
    let river = *rng.pick(RIVERS);
    set(&mut s, "river", format!("the {river}"));
    set(&mut s, "River", format!("The {river}"));
    set(&mut s, "region", format!("the {} valley", place_name(rng)));
    set(&mut s, "hills", format!("the {} Hills", place_name(rng)));
    set(&mut s, "founded", founded.to_string());
    set(&mut s, "century", ordinal_century(founded));
    set(&mut s, "founder", *rng.pick(FOUNDERS));
    set(&mut s, "pop", thousands(pop));
    set(&mut s, "pop_old", thousands(pop_old));
    set(&mut s, "old_year", old_year.to_string());
    set(&mut s, "industry", ind);
    set(&mut s, "workers", workers);
    set(&mut s, "product", product);
    set(&mut s, "material", material);
    set(&mut s, "modern", *rng.pick(MODERN));
    set(&mut s, "festival", format!("the {}", rng.pick(FESTIVALS)));
    set(&mut s, "festival_month", *rng.pick(MONTHS));
    set(&mut s, "church", format!("St {}'s Church", rng.pick(SAINTS)));
    set(&mut s, "church_year", rng.range(founded, founded + 300).to_string());
    set(&mut s, "bridge_year", rng.range(founded + 50, 1850).to_string());
    set(&mut s, "station_year", station_year.to_string());
    set(&mut s, "line_close", rng.range(1955, 1972).to_string());
    set(
        &mut s,
        "railway",
        format!("the {} and {} Railway", place_name(rng), place_name(rng)),
    );
    set(&mut s, "city", place_name(rng));
    set(&mut s, "city_km", rng.range(9, 85).to_string());
    set(&mut s, "rain_mm", rng.range(560, 1450).to_string());
    set(&mut s, "summer_c", rng.range(17, 25).to_string());
    set(&mut s, "winter_c", rng.range(1, 7).to_string());
    set(&mut s, "elevation", rng.range(8, 340).to_string());
    set(&mut s, "notable", full_name(rng));
    set(&mut s, "notable_job", *rng.pick(JOBS));
    set(&mut s, "dish", *rng.pick(DISHES));
    set(&mut s, "market_day", *rng.pick(WEEKDAYS));
    set(&mut s, "school_year", rng.range(1540, 1890).to_string());
    set(&mut s, "crop", *rng.pick(CROPS));
    set(&mut s, "flood_year", rng.range(1700, 2012).to_string());
    set(&mut s, "fire_year", rng.range(founded + 100, 1880).to_string());
    set(&mut s, "twin", place_name(rng));
    set(
        &mut s,
        "museum",
        format!("the {} Museum", capitalize(ind.split(' ').next().unwrap_or(ind))),
    );
    set(&mut s, "park_area", rng.range(4, 60).to_string());
    set(&mut s, "bus_min", rng.range(15, 60).to_string());
    set(&mut s, "mills", rng.range(3, 40).to_string());
    set(&mut s, "houses", thousands(rng.range(80, 900)));
    set(&mut s, "photos", thousands(rng.range(600, 9000)));
    s
}

/// (field, person noun, topic, instrument, discovery phrase, institute kind)
const FIELDS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "astronomy",
        "astronomer",
        "the orbits of faint comets",
        "a reflecting telescope",
        "that several comets previously thought unrelated followed the same orbit",
        "Observatory",
    ),
    (
        "botany",
        "botanist",
        "the way seeds survive long droughts",
        "a heated glasshouse",
        "that some seeds can wait decades in dry soil before they germinate",
        "Botanic Garden",
    ),
    (
        "chemistry",
        "chemist",
        "the behaviour of salts in solution",
        "a precise laboratory balance",
        "a simple method for measuring how much salt water can hold at different temperatures",
        "Chemical Laboratory",
    ),
    (
        "geology",
        "geologist",
        "the layers of rock exposed in river gorges",
        "a hand lens and a hammer",
        "that the valley had been carved by a far larger river in an earlier age",
        "Geological Survey",
    ),
    (
        "medicine",
        "physician",
        "the spread of fevers in crowded towns",
        "careful written case records",
        "that clean water supplies sharply reduced the number of winter fevers",
        "Infirmary",
    ),
    (
        "mathematics",
        "mathematician",
        "methods for solving equations by repeated approximation",
        "long tables of hand calculations",
        "a faster way of approximating square roots that was later used in early calculating machines",
        "Mathematical Society",
    ),
    (
        "engineering",
        "engineer",
        "the strength of iron beams and bridges",
        "a testing machine that could bend metal bars",
        "that many bridge failures began with small cracks around rivet holes",
        "Institute of Engineers",
    ),
    (
        "cartography",
        "mapmaker",
        "the accurate measurement of coastlines",
        "a surveyor's chain and theodolite",
        "that earlier charts had placed parts of the coast several miles too far west",
        "Survey Office",
    ),
    (
        "music",
        "composer",
        "folk melodies of the hill villages",
        "a small travelling harmonium",
        "that many village songs shared a handful of older tunes",
        "Conservatory",
    ),
    (
        "zoology",
        "naturalist",
        "the migration of small birds",
        "numbered leg rings",
        "that birds ringed in the same hedge returned to it year after year",
        "Natural History Society",
    ),
];
const AWARDS: &[&str] = &["Copley", "Harlow", "Winthrop", "Ashcombe", "Lister", "Garrow"];

/// Slots for a fictional scientist, engineer or artist.
pub fn person(rng: &mut Rng) -> Slots {
    let mut s = Slots::new();
    let (first, surname, female) = person_name(rng);
    let (field, noun, topic, instrument, discovery, inst) = *rng.pick(FIELDS);
    let born = rng.range(1740, 1905);
    let died = born + rng.range(48, 91);
    let uni_year = born + rng.range(17, 20);
    let work_year = born + rng.range(29, 45);
    let (he, his, him) = if female {
        ("she", "her", "her")
    } else {
        ("he", "his", "him")
    };
    let birthplace = place_name(rng);
    let city = place_name(rng);
    set(&mut s, "person", format!("{first} {surname}"));
    set(&mut s, "first", first);
    set(&mut s, "surname", surname);
    set(&mut s, "he", he);
    set(&mut s, "He", capitalize(he));
    set(&mut s, "his", his);
    set(&mut s, "His", capitalize(his));
    set(&mut s, "him", him);
    set(&mut s, "born", born.to_string());
    set(&mut s, "died", died.to_string());
    set(&mut s, "age", (died - born).to_string());
    set(&mut s, "birthplace", birthplace);
    set(
        &mut s,
        "father_job",
        *rng.pick(&[
            "schoolteacher",
            "miller",
            "clerk",
            "carpenter",
            "shopkeeper",
            "farmer",
            "printer",
        ]),
    );
    set(
        &mut s,
        "mother_job",
        *rng.pick(&["seamstress", "teacher", "shopkeeper", "bookbinder", "nurse", "farmer"]),
    );
    set(
        &mut s,
        "siblings",
        *rng.pick(&[
            "two older brothers",
            "a younger sister",
            "three sisters",
            "four siblings",
            "no brothers or sisters",
        ]),
    );
    set(&mut s, "university", format!("the University of {}", place_name(rng)));
    set(&mut s, "uni_year", uni_year.to_string());
    set(&mut s, "mentor", full_name(rng));
    set(&mut s, "field", field);
    set(&mut s, "noun", noun);
    set(&mut s, "topic", topic);
    set(&mut s, "instrument", instrument);
    set(&mut s, "discovery", discovery);
    set(&mut s, "institute", format!("the {city} {inst}"));
    set(&mut s, "city", city);
    set(&mut s, "work_year", work_year.to_string());
    let book = *rng.pick(&["Studies in", "Notes on", "Researches in", "Elements of", "Essays on"]);
    set(&mut s, "work_title", format!("{book} {}", capitalize(field)));
    set(&mut s, "award", format!("the {} Medal", rng.pick(AWARDS)));
    set(&mut s, "award_year", (work_year + rng.range(3, 15)).to_string());
    set(&mut s, "spouse", full_name(rng));
    set(&mut s, "marriage_year", (uni_year + rng.range(4, 12)).to_string());
    set(
        &mut s,
        "children",
        *rng.pick(&[
            "two children",
            "three children",
            "a son",
            "a daughter",
            "four children",
            "no children",
        ]),
    );
    set(&mut s, "rival", full_name(rng));
    set(&mut s, "student", full_name(rng));
    set(&mut s, "letters", thousands(rng.range(300, 4000)));
    set(&mut s, "papers", rng.range(12, 140).to_string());
    set(&mut s, "later_place", place_name(rng));
    set(&mut s, "work_age", (work_year - born).to_string());
    s
}

const BIRD_ADJ: &[&str] = &[
    "grey-crowned",
    "amber-throated",
    "pale-winged",
    "streaked",
    "russet-backed",
    "long-tailed",
    "spotted",
    "ash-breasted",
    "white-browed",
    "olive",
    "chestnut-capped",
    "dusky",
];
const BIRD_KIND: &[(&str, &str)] = &[
    ("marsh warbler", "reed beds and wet meadows"),
    ("heath pipit", "open heathland and rough grassland"),
    ("river dipper", "fast, stony upland streams"),
    ("wood thrush", "old broadleaved woodland"),
    ("shore plover", "sandy beaches and estuary mudflats"),
    ("hill finch", "high pasture and scattered thorn scrub"),
    ("fen bunting", "drained farmland and ditches"),
    ("cliff swift", "sea cliffs and old stone buildings"),
];
const FOODS: &[&str] = &[
    "beetles",
    "small snails",
    "grass seeds",
    "caterpillars",
    "midge larvae",
    "spiders",
    "ripe berries",
    "mayflies",
];

/// Slots for a fictional bird species.
pub fn bird(rng: &mut Rng) -> Slots {
    let mut s = Slots::new();
    let adj = *rng.pick(BIRD_ADJ);
    let (kind, habitat) = *rng.pick(BIRD_KIND);
    let name = format!("{adj} {kind}");
    let genus = format!("{}ia", rng.pick(RIVERS).to_lowercase());
    let length = rng.range(11, 26);
    let f1 = *rng.pick(FOODS);
    let mut f2 = *rng.pick(FOODS);
    if f2 == f1 {
        f2 = "small flies";
    }
    let start = rng.below(4) + 2;
    set(&mut s, "bird", name.clone());
    set(&mut s, "Bird", capitalize(&name));
    set(
        &mut s,
        "sci",
        format!("{} {}", capitalize(&genus), place_name(rng).to_lowercase()),
    );
    set(&mut s, "length", length.to_string());
    set(&mut s, "wingspan", (length * 2 + rng.range(-2, 6)).to_string());
    set(&mut s, "weight", (length * length / 12 + rng.range(2, 20)).to_string());
    set(&mut s, "adj", adj);
    set(&mut s, "kind", kind);
    set(&mut s, "habitat", habitat);
    set(&mut s, "range_a", format!("the {} valley", place_name(rng)));
    set(&mut s, "range_b", format!("the {} coast", place_name(rng)));
    set(&mut s, "food", f1);
    set(&mut s, "food2", f2);
    set(&mut s, "clutch", rng.range(3, 6).to_string());
    set(&mut s, "incubation", rng.range(11, 16).to_string());
    set(&mut s, "fledge", rng.range(12, 20).to_string());
    set(&mut s, "breed_start", MONTHS[start]);
    set(&mut s, "breed_end", MONTHS[start + 2]);
    set(
        &mut s,
        "winter_place",
        *rng.pick(&[
            "the southern marshes",
            "coastal farmland",
            "the lowland river valleys",
            "wooded parks near towns",
        ]),
    );
    set(&mut s, "pairs", thousands(rng.range(4, 220) * 100));
    set(
        &mut s,
        "trend",
        *rng.pick(&[
            "declining slowly",
            "stable",
            "increasing in the north",
            "falling sharply in some districts",
        ]),
    );
    set(
        &mut s,
        "threat",
        *rng.pick(&[
            "the drainage of wet ground",
            "the loss of old hedgerows",
            "disturbance at nesting sites",
            "changes in farming practice",
            "cold, late springs",
        ]),
    );
    set(&mut s, "observer", full_name(rng));
    set(&mut s, "year_described", rng.range(1790, 1910).to_string());
    set(&mut s, "similar", format!("{} {}", rng.pick(BIRD_ADJ), kind));
    set(&mut s, "song_notes", rng.range(3, 9).to_string());
    s
}

const PRODUCTS: &[(&str, &str)] = &[
    ("wireless earbuds", "audio"),
    ("air fryer", "kitchen"),
    ("running shoes", "sports"),
    ("robot vacuum", "home"),
    ("smart watch", "wearables"),
    ("office chair", "furniture"),
    ("phone case", "accessories"),
    ("electric toothbrush", "personal care"),
    ("LED desk lamp", "lighting"),
    ("yoga mat", "fitness"),
];
const BRANDS: &[&str] = &[
    "Zentrix", "Vivomax", "Klarbo", "Nuvra", "Optiq", "Brevo", "Sonique", "Maxello",
];

/// Slots for a low-value shopping/deal page.
pub fn shop(rng: &mut Rng) -> Slots {
    let mut s = Slots::new();
    let (product, cat) = *rng.pick(PRODUCTS);
    let price = rng.range(19, 249);
    let off = rng.range(10, 70);
    set(&mut s, "product", product);
    set(&mut s, "category", cat);
    set(&mut s, "brand", *rng.pick(BRANDS));
    set(
        &mut s,
        "model",
        format!("{}{}", rng.pick(&["X", "Pro ", "Air ", "S", "Max "]), rng.range(2, 900)),
    );
    set(&mut s, "price", format!("${price}.99"));
    set(&mut s, "old_price", format!("${}.99", price * 100 / (100 - off)));
    set(&mut s, "off", off.to_string());
    set(&mut s, "city", place_name(rng));
    set(&mut s, "days", rng.range(2, 7).to_string());
    set(&mut s, "stars", format!("4.{}", rng.range(1, 9)));
    set(&mut s, "reviews", thousands(rng.range(120, 9000)));
    set(&mut s, "code", format!("SAVE{}", off));
    set(
        &mut s,
        "color",
        *rng.pick(&["black", "white", "midnight blue", "rose gold", "graphite", "sage green"]),
    );
    set(&mut s, "year", rng.range(2019, 2024).to_string());
    s
}

/// Slots for chatty low-value pages (forum posts, gossip, horoscopes) used as reference negatives.
pub fn chatter(rng: &mut Rng) -> Slots {
    let mut s = Slots::new();
    let (first, surname, _) = person_name(rng);
    set(
        &mut s,
        "name",
        if rng.chance(0.5) {
            format!("{first} {surname}")
        } else {
            format!("{}{}", first.to_lowercase(), rng.range(7, 99))
        },
    );
    set(
        &mut s,
        "thing",
        *rng.pick(&[
            "my router",
            "the new update",
            "the printer",
            "my phone battery",
            "the app",
            "the game launcher",
            "my laptop fan",
            "the wifi",
        ]),
    );
    set(&mut s, "brand", *rng.pick(BRANDS));
    set(&mut s, "num", rng.range(2, 14).to_string());
    set(&mut s, "year", rng.range(2009, 2023).to_string());
    set(&mut s, "city", place_name(rng));
    set(&mut s, "views", thousands(rng.range(10, 900) * 1000));
    set(
        &mut s,
        "sign",
        *rng.pick(&[
            "Aries",
            "Taurus",
            "Gemini",
            "Cancer",
            "Leo",
            "Virgo",
            "Libra",
            "Scorpio",
            "Sagittarius",
            "Capricorn",
            "Aquarius",
            "Pisces",
        ]),
    );
    set(&mut s, "day", *rng.pick(WEEKDAYS));
    set(
        &mut s,
        "color",
        *rng.pick(&["green", "gold", "purple", "silver", "red", "blue"]),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_deterministic() {
        assert_eq!(town(&mut Rng::new(3)), town(&mut Rng::new(3)));
        assert_ne!(town(&mut Rng::new(3))["town"], town(&mut Rng::new(4))["town"]);
        let p = person(&mut Rng::new(9));
        assert!(p["died"].parse::<i64>().unwrap() > p["born"].parse::<i64>().unwrap());
        assert!(bird(&mut Rng::new(1)).contains_key("Bird"));
        assert!(shop(&mut Rng::new(1)).contains_key("price"));
    }

    #[test]
    fn number_formatting() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1000), "-1,000");
        assert_eq!(ordinal_century(1183), "twelfth");
        assert_eq!(ordinal_century(1200), "twelfth");
        assert_eq!(ordinal_century(1201), "thirteenth");
    }
}
