//! OpenID Connect: the discovery document (and, as they land, id_token and userinfo claims).
pub mod backchannel;
pub mod discovery;
pub mod id_token;
pub mod logout;
pub mod userinfo;
