//! fastText's dictionary: words and labels with counts, the FNV-1a token hash with signed bytes, the
//! ASCII-whitespace tokenizer with `</s>`, character n-grams and hashed word n-grams (C++ `Dictionary`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Multiplicative hasher for the prune index's `i32` keys: every character n-gram of every word is looked up
/// there when predicting with a pruned (`.ftz`) model, and SipHash made that the hottest part of language ID.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_i32(&mut self, i: i32) {
        self.0 = u64::from(i as u32).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type PruneMap = HashMap<i32, i32, BuildHasherDefault<IdHasher>>;

/// Source of [`Dictionary::uid`]: every dictionary built or loaded gets its own number, so that a
/// [`TokenCache`] filled by one model is never read for another.
static NEXT_DICT_UID: AtomicU64 = AtomicU64::new(1);

use crate::reader::Reader;
use crate::stdalgo;
use crate::FastTextError;

/// End-of-sentence token.
pub const EOS: &str = "</s>";
/// Prefix that makes a token a label.
pub const LABEL_PREFIX: &str = "__label__";
const BOW: u8 = b'<';
const EOW: u8 = b'>';

/// Entry kind as stored in the file (`entry_type`: 0 word, 1 label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum EntryType {
    Word = 0,
    Label = 1,
}

/// fastText's token hash: 32-bit FNV-1a where each byte is first sign-extended (`uint32_t(int8_t(c))`).
#[inline]
pub fn fnv_hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| fnv_step(h, b))
}

const FNV_OFFSET: u32 = 2_166_136_261;

/// One byte of [`fnv_hash`].
#[inline(always)]
fn fnv_step(h: u32, b: u8) -> u32 {
    (h ^ b as i8 as i32 as u32).wrapping_mul(16_777_619)
}

/// fastText's token separators: ASCII space, `\n`, `\r`, `\t`, `\v`, `\f` and NUL.
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0)
}

/// Parameters of the dictionary that come from the model's args.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DictParams {
    pub word_ngrams: i32,
    pub bucket: i32,
    pub minn: i32,
    pub maxn: i32,
}

/// The dictionary of a model.
#[derive(Debug, Clone)]
pub(crate) struct Dictionary {
    arena: Vec<u8>,
    spans: Vec<(u32, u32)>,
    counts: Vec<i64>,
    types: Vec<EntryType>,
    word2int: Vec<i32>,
    nwords: i32,
    nlabels: i32,
    ntokens: i64,
    pruneidx_size: i64,
    pruneidx: PruneMap,
    params: DictParams,
    /// Identity of this dictionary's contents for [`TokenCache`] (clones share it: same contents).
    uid: u64,
}

impl Dictionary {
    /// Builds a dictionary from entries in final order (words first, then labels).
    pub(crate) fn from_entries(
        entries: Vec<(Vec<u8>, i64, EntryType)>,
        ntokens: i64,
        params: DictParams,
    ) -> Result<Dictionary, String> {
        let mut d = Dictionary {
            arena: Vec::new(),
            spans: Vec::with_capacity(entries.len()),
            counts: Vec::with_capacity(entries.len()),
            types: Vec::with_capacity(entries.len()),
            word2int: Vec::new(),
            nwords: 0,
            nlabels: 0,
            ntokens,
            pruneidx_size: -1,
            pruneidx: PruneMap::default(),
            params,
            uid: NEXT_DICT_UID.fetch_add(1, Ordering::Relaxed),
        };
        for (w, c, t) in entries {
            d.push_entry(&w, c, t)?;
            match t {
                EntryType::Word => d.nwords += 1,
                EntryType::Label => d.nlabels += 1,
            }
        }
        d.build_index();
        Ok(d)
    }

    fn push_entry(&mut self, word: &[u8], count: i64, t: EntryType) -> Result<(), String> {
        let start = u32::try_from(self.arena.len()).map_err(|_| "dictionary words exceed 4 GiB".to_string())?;
        let len = u32::try_from(word.len()).map_err(|_| "dictionary word exceeds 4 GiB".to_string())?;
        self.arena.extend_from_slice(word);
        self.spans.push((start, len));
        self.counts.push(count);
        self.types.push(t);
        Ok(())
    }

    fn build_index(&mut self) {
        let size = self.spans.len();
        let w2i = (size as f64 / 0.7).ceil() as usize;
        self.word2int = vec![-1; w2i];
        for i in 0..size {
            let w = self.word(i);
            let h = fnv_hash(w);
            let slot = self.find(w, h);
            self.word2int[slot] = i as i32;
        }
    }

    /// Reads `Dictionary::load`'s format.
    pub(crate) fn load(r: &mut Reader<'_>, params: DictParams) -> Result<Dictionary, FastTextError> {
        let at = r.pos();
        let size = r.i32("dictionary size")?;
        let nwords = r.i32("dictionary nwords")?;
        let nlabels = r.i32("dictionary nlabels")?;
        let ntokens = r.i64("dictionary ntokens")?;
        let pruneidx_size = r.i64("dictionary pruneidx_size")?;
        if size < 0 || nwords < 0 || nlabels < 0 || i64::from(nwords) + i64::from(nlabels) != i64::from(size) {
            return Err(r.invalid(
                at,
                format!("dictionary counts inconsistent: size {size}, nwords {nwords}, nlabels {nlabels}"),
            ));
        }
        if size == 0 {
            return Err(r.invalid(at, "empty dictionary"));
        }
        // Each entry takes at least 10 bytes (NUL, count, type): reject absurd sizes before allocating.
        if size as u64 * 10 > r.remaining() as u64 {
            return Err(r.truncated(&format!("{size} dictionary entries"), size as u64 * 10));
        }
        let mut d = Dictionary {
            arena: Vec::new(),
            spans: Vec::with_capacity(size as usize),
            counts: Vec::with_capacity(size as usize),
            types: Vec::with_capacity(size as usize),
            word2int: Vec::new(),
            nwords,
            nlabels,
            ntokens,
            pruneidx_size,
            pruneidx: PruneMap::default(),
            params,
            uid: NEXT_DICT_UID.fetch_add(1, Ordering::Relaxed),
        };
        for i in 0..size {
            let word = r.cstr(&format!("dictionary entry {i}"))?;
            let count = r.i64(&format!("count of dictionary entry {i}"))?;
            let tat = r.pos();
            let t = match r.u8(&format!("type of dictionary entry {i}"))? {
                0 => EntryType::Word,
                1 => EntryType::Label,
                b => return Err(r.invalid(tat, format!("dictionary entry {i}: type byte {b} (expected 0 or 1)"))),
            };
            let expected = if i < nwords { EntryType::Word } else { EntryType::Label };
            if t != expected {
                return Err(r.invalid(
                    tat,
                    format!(
                        "dictionary entry {i}: {t:?} found where the header's nwords {nwords} expects a {expected:?}"
                    ),
                ));
            }
            d.push_entry(word, count, t).map_err(|m| r.invalid(tat, m))?;
        }
        if pruneidx_size > 0 {
            let needed = (pruneidx_size as u64).saturating_mul(8);
            if needed > r.remaining() as u64 {
                return Err(r.truncated("dictionary prune index", needed));
            }
            for _ in 0..pruneidx_size {
                let pat = r.pos();
                let first = r.i32("prune index key")?;
                let second = r.i32("prune index value")?;
                if second < 0 || i64::from(second) >= pruneidx_size {
                    return Err(r.invalid(
                        pat,
                        format!("prune index maps {first} to {second}, outside 0..{pruneidx_size}"),
                    ));
                }
                d.pruneidx.insert(first, second);
            }
        }
        d.build_index();
        Ok(d)
    }

    /// Writes `Dictionary::save`'s format.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.spans.len() as i32).to_le_bytes());
        out.extend_from_slice(&self.nwords.to_le_bytes());
        out.extend_from_slice(&self.nlabels.to_le_bytes());
        out.extend_from_slice(&self.ntokens.to_le_bytes());
        out.extend_from_slice(&self.pruneidx_size.to_le_bytes());
        for i in 0..self.spans.len() {
            out.extend_from_slice(self.word(i));
            out.push(0);
            out.extend_from_slice(&self.counts[i].to_le_bytes());
            out.push(self.types[i] as u8);
        }
        let mut pairs: Vec<(i32, i32)> = self.pruneidx.iter().map(|(a, b)| (*a, *b)).collect();
        pairs.sort_unstable();
        for (a, b) in pairs {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
    }

    #[inline]
    pub(crate) fn word(&self, i: usize) -> &[u8] {
        let (s, l) = self.spans[i];
        &self.arena[s as usize..(s + l) as usize]
    }

    pub(crate) fn size(&self) -> usize {
        self.spans.len()
    }

    pub(crate) fn nwords(&self) -> i32 {
        self.nwords
    }

    pub(crate) fn nlabels(&self) -> i32 {
        self.nlabels
    }

    pub(crate) fn ntokens(&self) -> i64 {
        self.ntokens
    }

    pub(crate) fn is_pruned(&self) -> bool {
        self.pruneidx_size >= 0
    }

    pub(crate) fn pruneidx_size(&self) -> i64 {
        self.pruneidx_size
    }

    /// The label string of label index `lid` (0-based among labels).
    pub(crate) fn label(&self, lid: usize) -> &[u8] {
        self.word(self.nwords as usize + lid)
    }

    /// Counts of all labels, in label order.
    pub(crate) fn label_counts(&self) -> Vec<i64> {
        self.counts[self.nwords as usize..].to_vec()
    }

    pub(crate) fn counts(&self) -> &[i64] {
        &self.counts
    }

    fn find(&self, w: &[u8], h: u32) -> usize {
        let n = self.word2int.len();
        let mut id = (h as usize) % n;
        loop {
            let wi = self.word2int[id];
            if wi == -1 || self.word(wi as usize) == w {
                return id;
            }
            id = (id + 1) % n;
        }
    }

    /// Id of a token (`-1` if unknown), given its hash.
    #[inline]
    pub(crate) fn get_id(&self, w: &[u8], h: u32) -> i32 {
        if self.word2int.is_empty() {
            return -1;
        }
        self.word2int[self.find(w, h)]
    }

    fn push_hash(&self, out: &mut Vec<i32>, id: i32) {
        if self.pruneidx_size == 0 || id < 0 {
            return;
        }
        let id = if self.pruneidx_size > 0 {
            match self.pruneidx.get(&id) {
                Some(&v) => v,
                None => return,
            }
        } else {
            id
        };
        out.push(self.nwords + id);
    }

    /// C++ `computeSubwords` over `word` (which already carries `<` and `>`).
    fn compute_subwords(&self, word: &[u8], out: &mut Vec<i32>) {
        let DictParams { bucket, minn, maxn, .. } = self.params;
        if bucket <= 0 || maxn <= 0 {
            return;
        }
        let maxn = maxn as usize;
        let minn = minn.max(0) as usize;
        let len = word.len();
        for i in 0..len {
            if (word[i] & 0xC0) == 0x80 {
                continue;
            }
            let mut j = i;
            let mut n = 1usize;
            // FNV-1a of word[i..j], extended byte by byte as j grows (the same value as hashing the slice).
            let mut h: u32 = FNV_OFFSET;
            while j < len && n <= maxn {
                h = fnv_step(h, word[j]);
                j += 1;
                while j < len && (word[j] & 0xC0) == 0x80 {
                    h = fnv_step(h, word[j]);
                    j += 1;
                }
                if n >= minn && !(n == 1 && (i == 0 || j == len)) {
                    self.push_hash(out, (h % bucket as u32) as i32);
                }
                n += 1;
            }
        }
    }

    /// C++ `addSubwords`: the rows a token contributes.
    fn add_subwords(&self, out: &mut Vec<i32>, token: &[u8], wid: i32, scratch: &mut Vec<u8>) {
        if wid < 0 {
            if token != EOS.as_bytes() {
                self.bracketed_subwords(token, out, scratch);
            }
        } else if self.params.maxn <= 0 {
            out.push(wid);
        } else {
            out.push(wid);
            if token != EOS.as_bytes() {
                self.bracketed_subwords(token, out, scratch);
            }
        }
    }

    fn bracketed_subwords(&self, token: &[u8], out: &mut Vec<i32>, scratch: &mut Vec<u8>) {
        if self.params.maxn <= 0 {
            return;
        }
        scratch.clear();
        scratch.push(BOW);
        scratch.extend_from_slice(token);
        scratch.push(EOW);
        let s = std::mem::take(scratch);
        self.compute_subwords(&s, out);
        *scratch = s;
    }

    /// C++ `addWordNgrams`.
    fn add_word_ngrams(&self, out: &mut Vec<i32>, hashes: &[i32]) {
        let n = self.params.word_ngrams.max(0) as usize;
        let bucket = self.params.bucket;
        if n <= 1 || bucket <= 0 {
            return;
        }
        for i in 0..hashes.len() {
            let mut h = hashes[i] as i64 as u64;
            let mut j = i + 1;
            while j < hashes.len() && j < i + n {
                h = h.wrapping_mul(116_049_371).wrapping_add(hashes[j] as i64 as u64);
                self.push_hash(out, (h % bucket as u64) as i32);
                j += 1;
            }
        }
    }

    /// Handles one token of a line; returns true when the token ends the line (`</s>`).
    #[inline]
    fn process_token(&self, token: &[u8], line: &mut LineBuf) -> bool {
        self.process_hashed_token(token, fnv_hash(token), line)
    }

    /// [`Self::process_token`] with the token's [`fnv_hash`] already computed.
    #[inline]
    fn process_hashed_token(&self, token: &[u8], h: u32, line: &mut LineBuf) -> bool {
        let wid = self.get_id(token, h);
        let t = if wid < 0 {
            if token.starts_with(LABEL_PREFIX.as_bytes()) {
                EntryType::Label
            } else {
                EntryType::Word
            }
        } else {
            self.types[wid as usize]
        };
        match t {
            EntryType::Word => {
                self.add_subwords(&mut line.words, token, wid, &mut line.scratch);
                line.hashes.push(h as i32);
            }
            EntryType::Label => {
                if wid >= 0 {
                    line.labels.push(wid - self.nwords);
                }
            }
        }
        token == EOS.as_bytes()
    }

    /// [`Self::process_token`] through the line buffer's [`TokenCache`]: a word seen before (by this dictionary)
    /// gets its rows copied instead of looked up and hashed again; the rows and their order are the same.
    #[inline]
    fn process_token_cached(&self, token: &[u8], h: u32, line: &mut LineBuf) -> bool {
        debug_assert_eq!(h, fnv_hash(token));
        if let Some(rows) = line.cache.get(token, h) {
            line.words.extend_from_slice(rows);
            line.hashes.push(h as i32);
            return false;
        }
        let before = line.words.len();
        let nhashes = line.hashes.len();
        let end = self.process_hashed_token(token, h, line);
        // Only plain words go in (a label adds no hash and a literal `</s>` ends the line).
        if !end && line.hashes.len() == nhashes + 1 {
            line.cache.insert(token, h, &line.words[before..]);
        }
        end
    }

    /// `getLine` on `text + "\n"` (what `predictLine` sees from the Python binding): tokens up to the first
    /// newline or a literal `</s>`, then `</s>`. Returns the number of tokens read.
    pub(crate) fn line_features(&self, text: &[u8], line: &mut LineBuf) -> usize {
        line.clear();
        line.cache.bind(self.uid);
        let mut ntokens = 0;
        let mut i = 0;
        let n = text.len();
        loop {
            while i < n && is_space(text[i]) && text[i] != b'\n' {
                i += 1;
            }
            ntokens += 1;
            if i >= n || text[i] == b'\n' {
                self.process_token(EOS.as_bytes(), line);
                break;
            }
            // The token's end and its hash in one pass.
            let start = i;
            let mut h = FNV_OFFSET;
            while i < n && !is_space(text[i]) {
                h = fnv_step(h, text[i]);
                i += 1;
            }
            if self.process_token_cached(&text[start..i], h, line) {
                break;
            }
        }
        let hashes = std::mem::take(&mut line.hashes);
        self.add_word_ngrams(&mut line.words, &hashes);
        line.hashes = hashes;
        ntokens
    }

    /// `getLine` over a byte stream (training): reads one line with the C++ stream semantics, including
    /// the rewind to the start after end of file. Returns the number of tokens read.
    pub(crate) fn stream_line(&self, s: &mut ByteStream<'_>, line: &mut LineBuf) -> i64 {
        line.clear();
        s.reset();
        let mut ntokens = 0;
        let mut tok = std::mem::take(&mut line.token);
        while s.read_word(&mut tok) {
            ntokens += 1;
            if self.process_token(&tok, line) {
                break;
            }
        }
        line.token = tok;
        let hashes = std::mem::take(&mut line.hashes);
        self.add_word_ngrams(&mut line.words, &hashes);
        line.hashes = hashes;
        ntokens
    }
}

/// Reusable buffers for one line's features.
#[derive(Debug, Default)]
pub(crate) struct LineBuf {
    pub words: Vec<i32>,
    pub labels: Vec<i32>,
    hashes: Vec<i32>,
    scratch: Vec<u8>,
    token: Vec<u8>,
    cache: TokenCache,
}

impl LineBuf {
    fn clear(&mut self) {
        self.words.clear();
        self.labels.clear();
        self.hashes.clear();
    }
}

/// The input rows of tokens already seen while predicting (word id and character n-grams, in
/// `addSubwords` order), keyed by the token's fastText hash with the bytes compared on a hit. Web text repeats
/// its words, so most tokens skip the dictionary probe and the character n-gram hashing. Bounded: emptied when
/// it holds more than [`TokenCache::MAX_ROWS`] rows or [`TokenCache::MAX_BYTES`] token bytes.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    /// [`Dictionary::uid`] the entries belong to (0: none yet).
    dict: u64,
    /// Token hash → index of the newest entry with that hash.
    heads: HashMap<i32, u32, BuildHasherDefault<IdHasher>>,
    entries: Vec<CacheEntry>,
    tokens: Vec<u8>,
    rows: Vec<i32>,
}

#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    token: (u32, u32),
    rows: (u32, u32),
    /// Older entry with the same hash (`u32::MAX`: none).
    next: u32,
}

impl TokenCache {
    const MAX_ROWS: usize = 1 << 22;
    const MAX_BYTES: usize = 1 << 23;
    /// Longer tokens (URLs, base64, …) rarely repeat and are not kept.
    const MAX_TOKEN: usize = 128;

    /// Use the cache for dictionary `uid`, dropping entries of any other.
    fn bind(&mut self, uid: u64) {
        if self.dict != uid {
            self.clear();
            self.dict = uid;
        }
    }

    fn clear(&mut self) {
        self.heads.clear();
        self.entries.clear();
        self.tokens.clear();
        self.rows.clear();
    }

    #[inline]
    fn get(&self, token: &[u8], h: u32) -> Option<&[i32]> {
        let mut e = *self.heads.get(&(h as i32))?;
        while e != u32::MAX {
            let c = &self.entries[e as usize];
            let (ts, tl) = c.token;
            if same_bytes(&self.tokens[ts as usize..(ts + tl) as usize], token) {
                let (rs, rl) = c.rows;
                return Some(&self.rows[rs as usize..(rs + rl) as usize]);
            }
            e = c.next;
        }
        None
    }

    fn insert(&mut self, token: &[u8], h: u32, rows: &[i32]) {
        if token.len() > Self::MAX_TOKEN {
            return;
        }
        if self.rows.len() + rows.len() > Self::MAX_ROWS || self.tokens.len() + token.len() > Self::MAX_BYTES {
            self.clear();
        }
        let entry = CacheEntry {
            token: (self.tokens.len() as u32, token.len() as u32),
            rows: (self.rows.len() as u32, rows.len() as u32),
            next: self.heads.get(&(h as i32)).copied().unwrap_or(u32::MAX),
        };
        self.tokens.extend_from_slice(token);
        self.rows.extend_from_slice(rows);
        self.heads.insert(h as i32, self.entries.len() as u32);
        self.entries.push(entry);
    }
}

/// `a == b` for the short tokens of the cache: lengths first, then up to 16 bytes as two overlapping words
/// (no call into `memcmp` for a few bytes).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().expect("eight bytes"));
    let half = |s: &[u8], i: usize| u32::from_le_bytes(s[i..i + 4].try_into().expect("four bytes"));
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// An in-memory byte stream with `std::istream`'s end-of-file and rewind behaviour as fastText uses it.
pub(crate) struct ByteStream<'a> {
    data: &'a [u8],
    pos: usize,
    eof: bool,
}

impl<'a> ByteStream<'a> {
    pub(crate) fn new(data: &'a [u8], start: usize) -> Self {
        ByteStream {
            data,
            pos: start.min(data.len()),
            eof: false,
        }
    }

    /// `in.peek() == EOF`.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// `Dictionary::reset`: after end of file, clear it and seek to 0.
    pub(crate) fn reset(&mut self) {
        if self.eof {
            self.eof = false;
            self.pos = 0;
        }
    }

    /// `Dictionary::readWord`.
    pub(crate) fn read_word(&mut self, word: &mut Vec<u8>) -> bool {
        word.clear();
        while self.pos < self.data.len() {
            let c = self.data[self.pos];
            self.pos += 1;
            if is_space(c) {
                if word.is_empty() {
                    if c == b'\n' {
                        word.extend_from_slice(EOS.as_bytes());
                        return true;
                    }
                    continue;
                } else {
                    if c == b'\n' {
                        self.pos -= 1;
                    }
                    return true;
                }
            }
            word.push(c);
        }
        self.eof = true;
        !word.is_empty()
    }
}

/// Builds the training dictionary like `Dictionary::readFromFile` + `threshold`.
pub(crate) fn build_from_stream(
    data: &[u8],
    min_count: i64,
    min_count_label: i64,
    params: DictParams,
) -> Result<Dictionary, String> {
    const MAX_VOCAB_SIZE: usize = 30_000_000;
    struct E {
        word: Vec<u8>,
        count: i64,
        t: EntryType,
    }
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut entries: Vec<E> = Vec::new();
    let mut ntokens: i64 = 0;
    let mut s = ByteStream::new(data, 0);
    let mut w = Vec::new();
    let mut min_threshold = 1i64;
    let threshold = |entries: &mut Vec<E>, index: &mut HashMap<Vec<u8>, usize>, t: i64, tl: i64| {
        let less = |a: &E, b: &E| {
            if a.t != b.t {
                a.t < b.t
            } else {
                a.count > b.count
            }
        };
        stdalgo::std_sort(entries, &less);
        entries.retain(|e| !((e.t == EntryType::Word && e.count < t) || (e.t == EntryType::Label && e.count < tl)));
        index.clear();
        for (i, e) in entries.iter().enumerate() {
            index.insert(e.word.clone(), i);
        }
    };
    while s.read_word(&mut w) {
        ntokens += 1;
        match index.get(&w) {
            Some(&i) => entries[i].count += 1,
            None => {
                let t = if w.starts_with(LABEL_PREFIX.as_bytes()) {
                    EntryType::Label
                } else {
                    EntryType::Word
                };
                index.insert(w.clone(), entries.len());
                entries.push(E {
                    word: w.clone(),
                    count: 1,
                    t,
                });
            }
        }
        if entries.len() as f64 > 0.75 * MAX_VOCAB_SIZE as f64 {
            min_threshold += 1;
            threshold(&mut entries, &mut index, min_threshold, min_threshold);
        }
    }
    threshold(&mut entries, &mut index, min_count, min_count_label);
    if entries.is_empty() {
        return Err("empty vocabulary: try a smaller minCount".into());
    }
    Dictionary::from_entries(
        entries.into_iter().map(|e| (e.word, e.count, e.t)).collect(),
        ntokens,
        params,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn same_bytes_is_slice_equality(a in proptest::collection::vec(0u8..4, 0..24), b in proptest::collection::vec(0u8..4, 0..24)) {
            proptest::prop_assert_eq!(same_bytes(&a, &b), a == b);
            proptest::prop_assert!(same_bytes(&a, &a.clone()));
        }
    }

    #[test]
    fn fnv_sign_extends_bytes() {
        assert_eq!(fnv_hash(b""), 2_166_136_261);
        // ASCII agrees with plain FNV-1a 32.
        assert_eq!(fnv_hash(b"a"), 0xe40c292c);
        // Non-ASCII bytes are sign-extended, so they differ from plain FNV-1a.
        let plain = (2_166_136_261u32 ^ 0xC3).wrapping_mul(16_777_619);
        assert_ne!(fnv_hash(&[0xC3]), plain);
        assert_eq!(
            fnv_hash(&[0xC3]),
            (2_166_136_261u32 ^ 0xFFFF_FFC3).wrapping_mul(16_777_619)
        );
    }

    #[test]
    fn stream_reads_eos_and_rewinds() {
        let mut s = ByteStream::new(b"a b\nc", 0);
        let mut w = Vec::new();
        let mut got = Vec::new();
        while s.read_word(&mut w) {
            got.push(String::from_utf8(w.clone()).unwrap());
        }
        assert_eq!(got, ["a", "b", "</s>", "c"]);
        s.reset();
        assert!(s.read_word(&mut w));
        assert_eq!(w, b"a");
    }
}
