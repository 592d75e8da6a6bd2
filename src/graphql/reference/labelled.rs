//! The labelled reference types, themes, product types and criteria: a key and a label in
//! bokmål, nynorsk and English.

use async_graphql::{ID, Object, SimpleObject};

use crate::graphql::reference::types::{Criterion, ProductType, Theme};

/// The languages labels come in, which are those of people's mails too.
pub use entity::enums::Language;

/// A label in bokmål, nynorsk and English.
#[derive(SimpleObject)]
pub struct Labels {
    pub nb: String,
    pub nn: String,
    pub en: String,
}

/// The GraphQL object of a labelled reference type: id, key, labels and the label in one
/// language, plus any fields of its own.
macro_rules! labelled_object {
    ($name:ident, $doc:literal, $key_doc:literal { $($extra:tt)* }) => {
        #[doc = $doc]
        #[Object]
        impl $name {
            pub async fn id(&self) -> ID {
                self.global_id()
            }

            #[doc = $key_doc]
            async fn key(&self) -> &str {
                &self.0.key
            }

            async fn labels(&self) -> Labels {
                Labels { nb: self.0.label_nb.clone(), nn: self.0.label_nn.clone(), en: self.0.label_en.clone() }
            }

            /// The label in one language.
            async fn label(&self, #[graphql(default_with = "Language::Nb")] language: Language) -> &str {
                match language {
                    Language::Nb => &self.0.label_nb,
                    Language::Nn => &self.0.label_nn,
                    Language::En => &self.0.label_en,
                }
            }

            $($extra)*
        }
    };
}

labelled_object!(Theme, "A service area a need can belong to.", "Stable key, e.g. `public-health`." {});

labelled_object!(ProductType, "A kind of knowledge product that can be commissioned.",
    "Stable key, e.g. `SYSTEMATIC_REVIEW`." {});

labelled_object!(Criterion, "A default prioritisation criterion; each is scored 1-5 in a round.",
    "Stable key, e.g. `feasibility`." {
    /// The weight of the criterion in the weighted mean.
    async fn weight(&self) -> f64 {
        self.0.weight
    }

    /// The question a scorer answers, in English.
    async fn question(&self) -> &str {
        &self.0.question_en
    }
});
