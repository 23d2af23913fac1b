//! What one attempt to deliver a subscriber's message came to, whatever carried it (mail,
//! Discord, a webhook).

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered(u16),
    Wait {
        status: u16,
        after: std::time::Duration,
    },
    Retry {
        status: Option<u16>,
        error: String,
    },
    /// This message will never be taken (a 400 for its body): marked failed, the rest go on.
    Refused {
        status: u16,
        error: String,
    },
    /// The receiver is gone: the subscription is deactivated.
    Gone {
        status: Option<u16>,
        error: String,
    },
}
