//! Reading organisations and partnerships.
