//! Database tables of the hub as sea-orm entities, plus the enums shared by the
//! database and the GraphQL API (one Rust type per status or kind, never a bare string).

pub mod api_token;
pub mod api_token_region;
pub mod audit_event;
pub mod cluster;
pub mod commission;
pub mod commission_event;
pub mod commission_interest;
pub mod commission_need;
pub mod county;
pub mod criterion;
pub mod enums;
pub mod idempotency_key;
pub mod institution;
pub mod membership;
pub mod milestone;
pub mod municipality;
pub mod need;
pub mod need_cosign;
pub mod need_event;
pub mod need_evidence;
pub mod need_theme;
pub mod person;
pub mod person_region;
pub mod product_type;
pub mod reference_data_load;
pub mod region;
pub mod round;
pub mod round_candidate;
pub mod round_criterion;
pub mod round_score;
pub mod summary;
pub mod theme;
pub mod uptake;
