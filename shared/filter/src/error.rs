use std::fmt;

/// Why a filter pattern was rejected.
///
/// `message` says what is wrong and, when it applies, where (the same offset as `position`);
/// `Display` prefixes it so the result is the sentence a user sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub message: String,
    /// 0-based character (not byte) offset into the pattern as given, untrimmed.
    pub position: Option<usize>,
}

impl PatternError {
    pub(crate) fn at(position: usize, what: impl fmt::Display) -> Self {
        PatternError { message: format!("{what} at position {position}"), position: Some(position) }
    }

    pub(crate) fn starting_at(position: usize, what: impl fmt::Display) -> Self {
        PatternError { message: format!("{what} starting at position {position}"), position: Some(position) }
    }

    pub(crate) fn general(what: impl fmt::Display) -> Self {
        PatternError { message: what.to_string(), position: None }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid filter pattern: {}", self.message)
    }
}

impl std::error::Error for PatternError {}
