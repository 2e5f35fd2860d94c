//! A bit-exact port of CPython's `random.Random` (MT19937, `init_by_array` seeding, `getrandbits`,
//! `_randbelow`, `choice`, `sample`) and of the iteration order of a CPython `set` of small
//! non-negative ints — what LLM-Foundry's few-shot sampler depends on.

/// CPython's Mersenne Twister, seeded as `random.Random(seed)` for a non-negative integer seed.
#[derive(Clone, Debug)]
pub struct PyRandom {
    mt: [u32; 624],
    mti: usize,
}

impl PyRandom {
    /// `random.Random(seed)`: `init_by_array` over the 32-bit little-endian words of `|seed|`.
    pub fn new(seed: u64) -> Self {
        let mut key = vec![seed as u32];
        if seed >> 32 != 0 {
            key.push((seed >> 32) as u32);
        }
        let mut r = PyRandom { mt: [0; 624], mti: 625 };
        r.init_by_array(&key);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..624 {
            let prev = self.mt[i - 1];
            self.mt[i] = 1812433253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        self.mti = 624;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19650218);
        let n = 624usize;
        let mut i = 1usize;
        let mut j = 0usize;
        let mut k = n.max(key.len());
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= n {
                self.mt[0] = self.mt[n - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = n - 1;
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1566083941)).wrapping_sub(i as u32);
            i += 1;
            if i >= n {
                self.mt[0] = self.mt[n - 1];
                i = 1;
            }
            k -= 1;
        }
        self.mt[0] = 0x8000_0000;
    }

    /// `genrand_uint32`: the next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.mti >= 624 {
            for kk in 0..624 {
                let y = (self.mt[kk] & UPPER) | (self.mt[(kk + 1) % 624] & LOWER);
                let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
                self.mt[kk] = self.mt[(kk + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.mti = 0;
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `getrandbits(k)` for `k` in 1..=64 (CPython fills 32-bit words little-endian, the last one shifted).
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        debug_assert!((1..=64).contains(&k));
        if k <= 32 {
            return u64::from(self.next_u32() >> (32 - k));
        }
        let lo = u64::from(self.next_u32());
        let hi = u64::from(self.next_u32() >> (64 - k));
        lo | (hi << 32)
    }

    /// `_randbelow(n)` (rejection sampling with `getrandbits(n.bit_length())`); `0` when `n == 0`.
    pub fn randbelow(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `shuffle(x)` in place, as CPython 3.11: for `i` from `len - 1` down to 1, swap `x[i]` with
    /// `x[_randbelow(i + 1)]`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.randbelow(i as u64 + 1) as usize;
            x.swap(i, j);
        }
    }

    /// `choice(range(n))`.
    pub fn choice_range(&mut self, n: usize) -> usize {
        self.randbelow(n as u64) as usize
    }

    /// `sample(range(n), k)` exactly as CPython 3.11 (pool method for small populations, set method otherwise).
    /// Returns `None` when `k > n` (Python raises `ValueError`).
    pub fn sample_range(&mut self, n: usize, k: usize) -> Option<Vec<usize>> {
        if k > n {
            return None;
        }
        let mut setsize = 21usize;
        if k > 5 {
            // 4 ** ceil(log(3k, 4)), computed the way CPython does (float log).
            let e = ((3 * k) as f64).ln() / 4f64.ln();
            setsize += 4usize.pow(e.ceil() as u32);
        }
        let mut out = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool: Vec<usize> = (0..n).collect();
            for j in 0..k {
                let x = self.randbelow((n - j) as u64) as usize;
                out.push(pool[x]);
                pool[x] = pool[n - j - 1];
            }
        } else {
            let mut selected = std::collections::HashSet::with_capacity(k);
            for _ in 0..k {
                let mut x = self.randbelow(n as u64) as usize;
                while selected.contains(&x) {
                    x = self.randbelow(n as u64) as usize;
                }
                selected.insert(x);
                out.push(x);
            }
        }
        Some(out)
    }
}

/// A CPython `set` of small non-negative ints (`hash(x) == x`), reproducing its slot layout and therefore its
/// iteration order (open addressing, linear probes of up to 9 slots, perturbed jumps, dummies on removal,
/// resize at 3/5 fill).
#[derive(Clone, Debug)]
pub struct PySmallIntSet {
    table: Vec<Slot>,
    fill: usize,
    used: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Empty,
    Dummy,
    Key(usize),
}

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

impl Default for PySmallIntSet {
    fn default() -> Self {
        Self::new()
    }
}

impl PySmallIntSet {
    /// An empty set (8 slots).
    pub fn new() -> Self {
        PySmallIntSet {
            table: vec![Slot::Empty; 8],
            fill: 0,
            used: 0,
        }
    }

    /// `set(iterable)`: add in order.
    pub fn from_iter_in_order(items: impl IntoIterator<Item = usize>) -> Self {
        let mut s = Self::new();
        for x in items {
            s.add(x);
        }
        s
    }

    /// Number of live keys.
    pub fn len(&self) -> usize {
        self.used
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Membership test.
    pub fn contains(&self, x: usize) -> bool {
        self.find(x).is_some()
    }

    fn find(&self, x: usize) -> Option<usize> {
        let mask = self.table.len() - 1;
        let mut perturb = x;
        let mut i = x & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for j in 0..=probes {
                match self.table[i + j] {
                    Slot::Empty => return None,
                    Slot::Key(k) if k == x => return Some(i + j),
                    _ => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + 1 + perturb) & mask;
        }
    }

    /// `set.add(x)`.
    pub fn add(&mut self, x: usize) {
        let mask = self.table.len() - 1;
        let mut perturb = x;
        let mut i = x & mask;
        let mut freeslot: Option<usize> = None;
        loop {
            let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
            for j in 0..=probes {
                let idx = i + j;
                match self.table[idx] {
                    Slot::Empty => {
                        if let Some(f) = freeslot {
                            // Reuse the first dummy met on the way; fill does not change.
                            self.table[f] = Slot::Key(x);
                            self.used += 1;
                            return;
                        }
                        self.table[idx] = Slot::Key(x);
                        self.used += 1;
                        self.fill += 1;
                        if self.fill * 5 >= mask * 3 {
                            self.resize(if self.used > 50_000 {
                                self.used * 2
                            } else {
                                self.used * 4
                            });
                        }
                        return;
                    }
                    Slot::Key(k) if k == x => return,
                    Slot::Dummy => {
                        if freeslot.is_none() {
                            freeslot = Some(idx);
                        }
                    }
                    Slot::Key(_) => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i * 5 + 1 + perturb) & mask;
        }
    }

    fn resize(&mut self, minused: usize) {
        let mut newsize = 8usize;
        while newsize <= minused {
            newsize <<= 1;
        }
        let old = std::mem::replace(&mut self.table, vec![Slot::Empty; newsize]);
        self.fill = self.used;
        let mask = newsize - 1;
        for slot in old {
            if let Slot::Key(x) = slot {
                // insert_clean: no dummies, no duplicates.
                let mut perturb = x;
                let mut i = x & mask;
                'outer: loop {
                    let probes = if i + LINEAR_PROBES <= mask { LINEAR_PROBES } else { 0 };
                    for j in 0..=probes {
                        if self.table[i + j] == Slot::Empty {
                            self.table[i + j] = Slot::Key(x);
                            break 'outer;
                        }
                    }
                    perturb >>= PERTURB_SHIFT;
                    i = (i * 5 + 1 + perturb) & mask;
                }
            }
        }
    }

    /// `set.remove(x)` / `discard`: the slot becomes a dummy. Returns whether `x` was present.
    pub fn remove(&mut self, x: usize) -> bool {
        match self.find(x) {
            Some(idx) => {
                self.table[idx] = Slot::Dummy;
                self.used -= 1;
                true
            }
            None => false,
        }
    }

    /// Iteration order: live keys in slot order.
    pub fn iter_order(&self) -> Vec<usize> {
        self.table
            .iter()
            .filter_map(|s| if let Slot::Key(k) = s { Some(*k) } else { None })
            .collect()
    }
}

/// LLM-Foundry v0.9.0 `get_fewshot_sample_idxs(dataset_size, num_fewshot, example_idx, rng)`: the shots of
/// one test example, in prompt order (CPython set iteration order). Advances `rng` exactly as upstream.
pub fn fewshot_sample_idxs(
    rng: &mut PyRandom,
    dataset_size: usize,
    num_fewshot: usize,
    example_idx: usize,
) -> Vec<usize> {
    fewshot_sample_idxs_traced(rng, dataset_size, num_fewshot, example_idx).0
}

/// As [`fewshot_sample_idxs`], also returning the `rng.sample` order and the `choice` redraws (for tests).
pub fn fewshot_sample_idxs_traced(
    rng: &mut PyRandom,
    dataset_size: usize,
    num_fewshot: usize,
    example_idx: usize,
) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    if dataset_size == 0 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let k = num_fewshot.min(dataset_size - 1);
    // k <= n always holds here, so sample cannot fail.
    let sampled = rng.sample_range(dataset_size, k).unwrap_or_default();
    let mut set = PySmallIntSet::from_iter_in_order(sampled.iter().copied());
    let mut draws = Vec::new();
    if set.contains(example_idx) {
        set.remove(example_idx);
        if set.len() < dataset_size - 1 {
            loop {
                let r = rng.choice_range(dataset_size);
                draws.push(r);
                if !set.contains(r) && r != example_idx {
                    set.add(r);
                    break;
                }
            }
        }
    }
    (set.iter_order(), sampled, draws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cpython_first_outputs() {
        // python3 -c "import random; r=random.Random(1234); print([r.getrandbits(32) for _ in range(3)])"
        let mut r = PyRandom::new(1234);
        let got: Vec<u64> = (0..3).map(|_| r.getrandbits(32)).collect();
        assert_eq!(got, vec![4150886329, 3342196574, 1892932127]);
        // python3 -c "import random; r=random.Random(42); print(r.sample(range(100), 5), r.randrange(7))"
        let mut r = PyRandom::new(42);
        assert_eq!(r.sample_range(100, 5).unwrap(), vec![81, 14, 3, 94, 35]);
        assert_eq!(r.randbelow(7), 1);
    }

    #[test]
    fn set_order_small_ints() {
        // python3 -c "print(list({40, 8, 3, 35, 1}))" -> [1, 3, 35, 40, 8]
        let s = PySmallIntSet::from_iter_in_order([40, 8, 3, 35, 1]);
        assert_eq!(s.iter_order(), vec![1, 3, 35, 40, 8]);
        let mut s = PySmallIntSet::from_iter_in_order([1, 199, 8, 171, 206, 112, 177, 149, 23, 29]);
        assert_eq!(s.len(), 10);
        assert!(s.remove(8));
        assert!(!s.contains(8));
        s.add(8);
        assert!(s.contains(8));
    }
}
