//! The lower median, DevLake's convention: `sorted[(n - 1) / 2]`, so an even count takes the
//! smaller middle value and the median is always one of the samples.

/// Reorders `xs` (selection, O(n)); `None` when empty.
pub(crate) fn lower_median<T: Ord + Copy>(xs: &mut [T]) -> Option<T> {
    if xs.is_empty() {
        return None;
    }
    let k = (xs.len() - 1) / 2;
    let (_, m, _) = xs.select_nth_unstable(k);
    Some(*m)
}
