//! None, one or more of a thing, read as a slice: the one most often held is kept in place.

/// None, one or more values: one is kept in place, without allocating; more in a `Vec`.
#[derive(Clone, Default)]
pub(crate) enum Few<T> {
    #[default]
    Zero,
    One(T),
    Many(Vec<T>),
}

impl<T> Few<T> {
    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            Few::Zero => &[],
            Few::One(v) => std::slice::from_ref(v),
            Few::Many(v) => v,
        }
    }

    pub(crate) fn into_first(self) -> Option<T> {
        match self {
            Few::Zero => None,
            Few::One(v) => Some(v),
            Few::Many(v) => v.into_iter().next(),
        }
    }

    /// Adds `value` at the end.
    pub(crate) fn push(&mut self, value: T) {
        *self = match std::mem::take(self) {
            Few::Zero => Few::One(value),
            Few::One(first) => Few::Many(vec![first, value]),
            Few::Many(mut list) => {
                list.push(value);
                Few::Many(list)
            }
        };
    }

    /// Keeps the first `n` values.
    pub(crate) fn truncate(&mut self, n: usize) {
        match self {
            Few::Many(list) => list.truncate(n),
            Few::One(_) if n == 0 => *self = Few::Zero,
            Few::One(_) | Few::Zero => {}
        }
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut v: Vec<T>) -> Self {
        match v.len() {
            0 => Few::Zero,
            1 => v.pop().map_or(Few::Zero, Few::One),
            _ => Few::Many(v),
        }
    }
}

impl<T> std::ops::Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> std::ops::DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Few::Zero => &mut [],
            Few::One(v) => std::slice::from_mut(v),
            Few::Many(v) => v,
        }
    }
}

/// Equal when they hold equal values in the same order, however they hold them.
impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Few<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Few;

    /// The first value is held in place, the others in a list after it; either way they read as
    /// one slice, in order, and compare by it.
    #[test]
    fn the_first_is_held_in_place_and_all_read_as_a_slice() {
        let mut few = Few::Zero;
        assert!(few.is_empty());
        few.push("a");
        assert!(matches!(few, Few::One(_)));
        few.push("b");
        few.push("c");
        assert_eq!(*few, ["a", "b", "c"]);
        few.truncate(1);
        assert_eq!(*few, ["a"]);
        assert_eq!(few, Few::from(vec!["a"]));
        assert!(matches!(Few::from(vec!["a"]), Few::One(_)));
        let mut one = Few::One("a");
        one.truncate(1);
        assert_eq!(*one, ["a"]);
        one.truncate(0);
        assert!(matches!(one, Few::Zero));
        assert_eq!(Few::<&str>::Zero, Few::Many(Vec::new()));
        few[0] = "z";
        assert_eq!(few.into_first(), Some("z"));
    }
}
