//! A product type an institution wants to hear of (its profile; none means every product type).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "institution_product_type")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub institution_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_type_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::product_type::Entity",
        from = "Column::ProductTypeId",
        to = "super::product_type::Column::Id"
    )]
    ProductType,
}

impl Related<super::product_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProductType.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
