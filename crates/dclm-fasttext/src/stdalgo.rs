//! Ports of the libstdc++ algorithms fastText's results depend on: the binary-heap operations used for
//! top-k selection, `std::sort` (introsort, not stable: its tie order decides the dictionary order),
//! `std::minstd_rand`, and the `uniform_int_distribution` / `uniform_real_distribution` draws.
//!
//! Every function follows the libstdc++ source step by step so that ties and random streams come out
//! exactly as in the C++ fastText built with GCC.

/// `std::push_heap(v.begin(), v.end(), less)` where `less(a, b)` is the heap's "a < b".
pub(crate) fn push_heap<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    let len = v.len();
    if len == 0 {
        return;
    }
    sift_up(v, len - 1, 0, less);
}

/// libstdc++ `__push_heap`: moves the element at `hole` up while its parent is "less".
fn sift_up<T, F: Fn(&T, &T) -> bool>(v: &mut [T], mut hole: usize, top: usize, less: &F) {
    while hole > top {
        let parent = (hole - 1) / 2;
        if less(&v[parent], &v[hole]) {
            v.swap(parent, hole);
            hole = parent;
        } else {
            break;
        }
    }
}

/// libstdc++ `__adjust_heap(first, hole, len, value)`, where `value` is the element currently stored at
/// `hole` (the swap-based formulation moves exactly the same elements as the hole-based original).
fn adjust_heap<T, F: Fn(&T, &T) -> bool>(v: &mut [T], mut hole: usize, len: usize, less: &F) {
    let top = hole;
    let mut second = hole;
    while len >= 2 && second < (len - 1) / 2 {
        second = 2 * (second + 1);
        if less(&v[second], &v[second - 1]) {
            second -= 1;
        }
        v.swap(hole, second);
        hole = second;
    }
    if len >= 2 && len % 2 == 0 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        v.swap(hole, second - 1);
        hole = second - 1;
    }
    sift_up(v, hole, top, less);
}

/// `std::pop_heap(v.begin(), v.end(), less)`: moves the top to the last position.
pub(crate) fn pop_heap<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    let len = v.len();
    if len > 1 {
        // __pop_heap(first, last-1, last-1): value = *result; *result = *first; adjust(first, 0, len-1, value)
        v.swap(0, len - 1);
        adjust_heap(v, 0, len - 1, less);
    }
}

/// `std::make_heap`.
pub(crate) fn make_heap<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    let len = v.len();
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        adjust_heap(v, parent, len, less);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

/// `std::sort_heap`.
pub(crate) fn sort_heap<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    let mut last = v.len();
    while last > 1 {
        pop_heap(&mut v[..last], less);
        last -= 1;
    }
}

const S_THRESHOLD: usize = 16;

/// `std::sort(v.begin(), v.end(), less)` exactly as libstdc++ implements it (introsort + final
/// insertion sort), so that elements comparing equal end up in the same order as in C++.
pub(crate) fn std_sort<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    let n = v.len();
    if n > 1 {
        let lg = usize::BITS - 1 - n.leading_zeros();
        introsort_loop(v, (lg * 2) as usize, less);
        final_insertion_sort(v, less);
    }
}

fn introsort_loop<T, F: Fn(&T, &T) -> bool>(mut v: &mut [T], mut depth: usize, less: &F) {
    while v.len() > S_THRESHOLD {
        if depth == 0 {
            make_heap(v, less);
            sort_heap(v, less);
            return;
        }
        depth -= 1;
        let cut = unguarded_partition_pivot(v, less);
        let (left, right) = v.split_at_mut(cut);
        introsort_loop(right, depth, less);
        v = left;
    }
}

fn move_median_to_first<T, F: Fn(&T, &T) -> bool>(v: &mut [T], result: usize, a: usize, b: usize, c: usize, less: &F) {
    if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            v.swap(result, b);
        } else if less(&v[a], &v[c]) {
            v.swap(result, c);
        } else {
            v.swap(result, a);
        }
    } else if less(&v[a], &v[c]) {
        v.swap(result, a);
    } else if less(&v[b], &v[c]) {
        v.swap(result, c);
    } else {
        v.swap(result, b);
    }
}

fn unguarded_partition_pivot<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) -> usize {
    let len = v.len();
    let mid = len / 2;
    move_median_to_first(v, 0, 1, mid, len - 1, less);
    // __unguarded_partition(first + 1, last, first)
    let mut first = 1;
    let mut last = len;
    loop {
        while less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn final_insertion_sort<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    if v.len() > S_THRESHOLD {
        insertion_sort(&mut v[..S_THRESHOLD], less);
        for i in S_THRESHOLD..v.len() {
            unguarded_linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, less);
    }
}

fn insertion_sort<T, F: Fn(&T, &T) -> bool>(v: &mut [T], less: &F) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            // move_backward(first, i, i + 1); *first = val
            v[..=i].rotate_right(1);
        } else {
            unguarded_linear_insert(v, i, less);
        }
    }
}

fn unguarded_linear_insert<T, F: Fn(&T, &T) -> bool>(v: &mut [T], mut last: usize, less: &F) {
    while last > 0 && less(&v[last], &v[last - 1]) {
        v.swap(last, last - 1);
        last -= 1;
    }
}

/// `std::minstd_rand` (Park–Miller, multiplier 48271, modulus 2^31 − 1).
#[derive(Debug, Clone)]
pub(crate) struct MinstdRand {
    state: u64,
}

impl MinstdRand {
    const M: u64 = 2_147_483_647;
    /// Seeds like `linear_congruential_engine::seed`: a seed ≡ 0 (mod m) becomes 1.
    pub(crate) fn new(seed: u64) -> Self {
        let s = seed % Self::M;
        MinstdRand {
            state: if s == 0 { 1 } else { s },
        }
    }

    /// Next raw value in [1, 2^31 − 2].
    pub(crate) fn next_u32(&mut self) -> u32 {
        self.state = self.state * 48271 % Self::M;
        self.state as u32
    }

    /// `std::uniform_int_distribution<int>(a, b)(rng)` with libstdc++'s downscaling (the engine's range
    /// is not a power of two, so the classic rejection loop is used).
    pub(crate) fn uniform_int(&mut self, a: i64, b: i64) -> i64 {
        let urngrange: u64 = 2_147_483_646 - 1; // max - min
        let urange = (b - a) as u64;
        if urngrange > urange {
            let uerange = urange + 1;
            let scaling = urngrange / uerange;
            let past = uerange * scaling;
            loop {
                let ret = u64::from(self.next_u32()) - 1;
                if ret < past {
                    return a + (ret / scaling) as i64;
                }
            }
        } else {
            // Never needed by fastText (ranges are label or negative-table sizes below 2^31).
            let ret = u64::from(self.next_u32()) - 1;
            a + (ret % (urange + 1)) as i64
        }
    }

    /// `std::generate_canonical<double, 53>(rng)`: two draws for minstd_rand.
    pub(crate) fn canonical(&mut self) -> f64 {
        let r: f64 = 2_147_483_646.0;
        let mut sum = 0.0f64;
        let mut tmp = 1.0f64;
        for _ in 0..2 {
            sum += f64::from(self.next_u32() - 1) * tmp;
            tmp *= r;
        }
        let ret = sum / tmp;
        if ret >= 1.0 {
            1.0f64.next_down_compat()
        } else {
            ret
        }
    }

    /// `std::uniform_real_distribution<double>(a, b)(rng)`.
    pub(crate) fn uniform_real(&mut self, a: f64, b: f64) -> f64 {
        self.canonical() * (b - a) + a
    }
}

trait NextDown {
    fn next_down_compat(self) -> Self;
}

impl NextDown for f64 {
    fn next_down_compat(self) -> f64 {
        f64::from_bits(self.to_bits() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minstd_matches_reference_sequence() {
        // The C++ standard requires the 10000th value of a default-constructed minstd_rand to be 399268537.
        let mut r = MinstdRand::new(1);
        let mut x = 0;
        for _ in 0..10_000 {
            x = r.next_u32();
        }
        assert_eq!(x, 399_268_537);
        assert_eq!(MinstdRand::new(0).next_u32(), MinstdRand::new(1).next_u32());
    }

    #[test]
    fn std_sort_sorts() {
        let mut v: Vec<(u32, u32)> = (0..1000u32).map(|i| ((i * 7919) % 97, i)).collect();
        std_sort(&mut v, &|a: &(u32, u32), b: &(u32, u32)| a.0 < b.0);
        assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut ids: Vec<u32> = v.iter().map(|x| x.1).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn heap_topk_sorted_descending() {
        let gt = |a: &(f32, i32), b: &(f32, i32)| a.0 > b.0;
        let mut heap: Vec<(f32, i32)> = Vec::new();
        for (i, x) in [0.3f32, 0.9, 0.1, 0.5, 0.7].iter().enumerate() {
            heap.push((*x, i as i32));
            push_heap(&mut heap, &gt);
            if heap.len() > 3 {
                pop_heap(&mut heap, &gt);
                heap.pop();
            }
        }
        sort_heap(&mut heap, &gt);
        assert_eq!(heap.iter().map(|p| p.1).collect::<Vec<_>>(), vec![1, 4, 3]);
    }
}
