//! [`contract!`](crate::contract): a namespace's topics declared once.
//!
//! Each namespace module writes one `contract!` block naming its requests (topic, request type,
//! reply kind and type), its aliases, its events and its error topic. The block produces, from
//! that one declaration:
//!
//! - a `pub const` per topic (`vm::SPAWN`, `vm::STDOUT`, `vm::ERROR`), so no other crate spells a
//!   topic as a string literal;
//! - the [`BusRequest`](crate::BusRequest) binding of every request type (topic, reply kind, reply
//!   type and reply topic: `Spawn::REPLY_TOPIC` is `"vm.spawn:ack"`);
//! - the module's `CATALOG`, which [`crate::catalog`] joins into the table the kernel and the
//!   desktop classify topics by.
//!
//! ```
//! use aether_shared::vm::{self, Spawn};
//! use aether_shared::BusRequest;
//! assert_eq!(vm::SPAWN, "vm.spawn");
//! assert_eq!(Spawn::REPLY_TOPIC, "vm.spawn:ack");
//! assert_eq!(vm::ERROR, "vm.error");
//! ```

use crate::request::ReplyKind;
use crate::topic::Namespace;

/// What one `contract!` block declares, for [`crate::catalog`].
#[derive(Debug)]
pub struct Declared {
    /// The namespace whose error topic this module declares.
    pub namespace: Namespace,
    /// `(topic, reply kind)` of every request.
    pub requests: &'static [(&'static str, ReplyKind)],
    /// `(alias, the request it stands for)`.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Stream and event topics.
    pub events: &'static [&'static str],
    /// The namespace's error topic.
    pub error: &'static str,
}

/// Declares a namespace's topics once; see the [module docs](crate::declare).
///
/// ```text
/// crate::contract! {
///     namespace: Vm, error: ERROR = "vm.error";
///     requests {
///         SPAWN = "vm.spawn": Spawn => Ack(Spawned);
///         LIST = "vm.list": ListPrograms => Resp(Programs);
///     }
///     aliases {
///         WASM_RUN = "wasm.run": WasmRun => Spawn;
///     }
///     events {
///         STDOUT = "vm.stdout";
///     }
/// }
/// ```
#[macro_export]
macro_rules! contract {
    (
        namespace: $ns:ident, error: $error_const:ident = $error:literal;
        requests {
            $( $(#[$rdoc:meta])* $rconst:ident = $rtopic:literal : $request:ty => $kind:ident ($reply:ty); )*
        }
        aliases {
            $( $(#[$adoc:meta])* $aconst:ident = $atopic:literal : $alias:ty => $of:ty; )*
        }
        events {
            $( $(#[$edoc:meta])* $econst:ident = $etopic:literal; )*
        }
    ) => {
        /// The namespace's error topic.
        pub const $error_const: &str = $error;
        $(
            $(#[$rdoc])*
            pub const $rconst: &str = $rtopic;
            impl $crate::request::BusRequest for $request {
                const TOPIC: &'static str = $rtopic;
                const REPLY: $crate::request::ReplyKind = $crate::request::ReplyKind::$kind;
                const REPLY_TOPIC: &'static str = $crate::__reply_topic!($kind, $rtopic);
                type Reply = $reply;
            }
        )*
        $(
            $(#[$adoc])*
            pub const $aconst: &str = $atopic;
            impl $crate::request::BusRequest for $alias {
                const TOPIC: &'static str = $atopic;
                const REPLY: $crate::request::ReplyKind =
                    <$of as $crate::request::BusRequest>::REPLY;
                const REPLY_TOPIC: &'static str = <$of as $crate::request::BusRequest>::REPLY_TOPIC;
                type Reply = <$of as $crate::request::BusRequest>::Reply;
            }
        )*
        $(
            $(#[$edoc])*
            pub const $econst: &str = $etopic;
        )*
        /// What this module's `contract!` declares, joined into [`crate::catalog`].
        pub const CATALOG: $crate::declare::Declared = $crate::declare::Declared {
            namespace: $crate::topic::Namespace::$ns,
            requests: &[$( ($rtopic, $crate::request::ReplyKind::$kind) ),*],
            aliases: &[$( ($atopic, <$of as $crate::request::BusRequest>::TOPIC) ),*],
            events: &[$( $etopic ),*],
            error: $error,
        };
    };
}

/// The reply topic of a request topic: `vm.spawn` + `Ack` → `"vm.spawn:ack"`.
#[doc(hidden)]
#[macro_export]
macro_rules! __reply_topic {
    (Ack, $topic:literal) => {
        concat!($topic, ":ack")
    };
    (Resp, $topic:literal) => {
        concat!($topic, ":resp")
    };
}

#[cfg(test)]
mod tests {
    use crate::catalog::MODULES;
    use crate::topic::Topic;

    #[test]
    fn every_declared_topic_parses_and_lies_in_its_namespace() {
        for module in MODULES {
            assert_eq!(
                module.namespace.error_topic().as_str(),
                module.error,
                "{:?}",
                module.namespace
            );
            for (topic, _) in module.requests {
                Topic::parse(topic).unwrap();
            }
            for topic in module.events {
                Topic::parse(topic).unwrap();
            }
            for (alias, of) in module.aliases {
                Topic::parse(alias).unwrap();
                Topic::parse(of).unwrap();
            }
        }
    }
}
