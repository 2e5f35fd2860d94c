//! Built-in stand-ins used by `dclm baseline` when DCLM's assets are absent, so the default run
//! completes offline: a stop-word language identifier (instead of fastText `lid.176`); the byte-level
//! tokenizer that stands in for GPT-NeoX is `dclm_tokenizer::ByteTokenizer`. The run report names every stage
//! that used one.

use dclm_filter::LanguageId;
use std::collections::HashMap;

/// Stop-word profiles of the languages the identifier knows (the most frequent function words).
const PROFILES: &[(&str, &str)] = &[
    ("en", "the of and to a in is that it was for on are as with his they be at one have this from or had by not but what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into has look two more write go see number no way could people my than first been who its now"),
    ("de", "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber vor zur bis mehr durch man sein wurde sei"),
    ("fr", "le de la et les des en un du une que est pour qui dans par plus pas au sur ne se ce il sont avec son elle nous vous mais ou leur cette aux été ses tout comme bien fait sans peut être deux aussi"),
    ("es", "de la que el en y a los se del las un por con no una su para es al lo como más o pero sus le ha me si sin sobre este ya entre cuando todo esta ser son dos también fue había era muy años hasta desde está"),
    ("it", "di e il la che in a per un è non del una le con i si da al sono della gli ma come lo anche più se ha nel dei alla questo ci o mi tra quando essere suo sua molto dove fatto"),
    ("nl", "de van een het en in is op te dat die voor zijn met niet aan er als ook maar om door bij nog dan wordt tot uit je over naar hij kan zo deze wel al werd worden meer geen"),
    ("pt", "de a o que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das tem à seu sua ou ser quando muito há nos já está eu também só pelo pela até isso"),
];

/// Language identification by stop-word profiles: the share of a page's profile hits that belong to each
/// language. A stand-in for fastText `lid.176` (DCLM's `detect_lang_whole_page_enricher`), good enough to
/// tell English from the other languages of the embedded corpus; not a general language identifier.
pub struct StopwordLid {
    words: HashMap<&'static str, Vec<usize>>,
}

impl Default for StopwordLid {
    fn default() -> Self {
        let mut words: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, (_, list)) in PROFILES.iter().enumerate() {
            for w in list.split_whitespace() {
                words.entry(w).or_default().push(i);
            }
        }
        StopwordLid { words }
    }
}

impl LanguageId for StopwordLid {
    fn top1(&self, text: &str) -> Option<(String, f32)> {
        let mut hits = vec![0f32; PROFILES.len()];
        for raw in text.split(|c: char| !c.is_alphabetic()) {
            if raw.is_empty() {
                continue;
            }
            let w = raw.to_lowercase();
            if let Some(langs) = self.words.get(w.as_str()) {
                for &l in langs {
                    hits[l] += 1.0 / langs.len() as f32;
                }
            }
        }
        let total: f32 = hits.iter().sum();
        let (best, &n) = hits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        if total == 0.0 {
            return Some(("unknown".into(), 0.0));
        }
        Some((PROFILES[best].0.to_string(), n / total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopword_lid_tells_languages_apart() {
        let lid = StopwordLid::default();
        let en = lid.top1("The history of the town is told in the records of its church and the names of its streets.");
        assert_eq!(en.as_ref().map(|x| x.0.as_str()), Some("en"));
        assert!(en.unwrap().1 > 0.65);
        let de =
            lid.top1("Die Geschichte der Stadt ist in den Büchern der Kirche und in den Namen der Straßen zu finden.");
        assert_eq!(de.map(|x| x.0), Some("de".to_string()));
        assert_eq!(lid.top1("1234 5678").map(|x| x.1), Some(0.0));
    }
}
