//! The rules, case by case, and the commission scope held to the rule for seeing a commission.

use std::sync::Arc;

use entity::enums::{CommissionStatus, NeedStatus, Role};

use super::{Action, NeedScope, PersonScope, allowed};
use crate::{
    auth::viewer::{Grant, Identity, Organisation, Viewer},
    error::AppError,
};

const REGION: i32 = 1;
const OTHER_REGION: i32 = 2;

fn grant(role: Role, organisation: Organisation, partnership_id: i32) -> Grant {
    Grant { membership_id: 0, role, organisation, partnership_id: Some(partnership_id) }
}

fn viewer(person_id: i32, grants: Vec<Grant>) -> Viewer {
    Viewer::authenticated(Arc::new(Identity {
        person_id,
        token_id: 1,
        minted_by: None,
        bound: None,
        bound_by: None,
        grants,
    }))
}

fn bergen_member(person_id: i32) -> PersonScope {
    PersonScope {
        person_id,
        home_partnership_id: None,
        registered_regions: Vec::new(),
        grants: vec![grant(
            Role::UnitMember,
            Organisation::Municipality { id: 24, cluster_id: Some(1) },
            REGION,
        )],
    }
}

#[test]
fn personal_data_follows_the_written_rule() {
    let person = bergen_member(10);
    let cases = [
        ("the person", viewer(10, vec![]), true),
        (
            "a coordinator of the region",
            viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]),
            true,
        ),
        (
            "a coordinator of another region",
            viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]),
            false,
        ),
        (
            "the cluster coordinator",
            viewer(3, vec![grant(Role::UnitCoordinator, Organisation::Cluster(1), REGION)]),
            true,
        ),
        (
            "another cluster's coordinator",
            viewer(4, vec![grant(Role::UnitCoordinator, Organisation::Cluster(2), REGION)]),
            false,
        ),
        (
            "a colleague in Bergen",
            viewer(
                5,
                vec![grant(
                    Role::UnitMember,
                    Organisation::Municipality { id: 24, cluster_id: Some(1) },
                    REGION,
                )],
            ),
            true,
        ),
        (
            "a member of another municipality",
            viewer(
                6,
                vec![grant(
                    Role::UnitMember,
                    Organisation::Municipality { id: 25, cluster_id: Some(1) },
                    REGION,
                )],
            ),
            false,
        ),
        (
            "an institution member",
            viewer(7, vec![grant(Role::InstitutionMember, Organisation::Institution(1), REGION)]),
            false,
        ),
        ("the public", Viewer::public(), false),
    ];
    for (who, viewer, allowed) in cases {
        assert_eq!(viewer.can(Action::SeePersonalData(&person)), allowed, "{who}");
    }
}

#[test]
fn only_coordinators_of_the_region_manage_people() {
    let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
    assert!(coordinator.can(Action::ManagePeople { partnership_id: REGION }));
    assert!(!coordinator.can(Action::ManagePeople { partnership_id: OTHER_REGION }));
    let cluster = viewer(3, vec![grant(Role::UnitCoordinator, Organisation::Cluster(1), REGION)]);
    assert!(!cluster.can(Action::ManagePeople { partnership_id: REGION }));
    assert_eq!(
        cluster.require(Action::ManagePeople { partnership_id: REGION }),
        Err(AppError::Forbidden(allowed::MANAGE_PEOPLE))
    );
    assert_eq!(
        Viewer::public().require(Action::ManagePeople { partnership_id: REGION }),
        Err(AppError::Unauthenticated)
    );
}

#[test]
fn needs_follow_their_municipality_cluster_and_region() {
    let draft = NeedScope {
        status: NeedStatus::Draft,
        municipality_id: 24,
        cluster_id: Some(1),
        partnership_id: Some(REGION),
    };
    let submitted = NeedScope { status: NeedStatus::Submitted, ..draft };
    let bergen = viewer(
        5,
        vec![grant(Role::UnitMember, Organisation::Municipality { id: 24, cluster_id: Some(1) }, REGION)],
    );
    let askoy = viewer(
        6,
        vec![grant(Role::UnitMember, Organisation::Municipality { id: 25, cluster_id: Some(1) }, REGION)],
    );
    let cluster = viewer(3, vec![grant(Role::UnitCoordinator, Organisation::Cluster(1), REGION)]);
    let other_cluster = viewer(4, vec![grant(Role::UnitCoordinator, Organisation::Cluster(2), REGION)]);
    let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
    let elsewhere =
        viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]);

    assert!(bergen.can(Action::SeeNeed(&draft)));
    for v in [&askoy, &cluster, &coordinator, &Viewer::public()] {
        assert!(!v.can(Action::SeeNeed(&draft)), "drafts stay in their municipality");
        assert!(v.can(Action::SeeNeed(&submitted)));
    }
    assert!(bergen.can(Action::EditNeed(&draft)) && !askoy.can(Action::EditNeed(&draft)));
    assert!(cluster.can(Action::ReviewNeed(&submitted)) && coordinator.can(Action::ReviewNeed(&submitted)));
    for v in [&bergen, &other_cluster, &elsewhere] {
        assert!(!v.can(Action::ReviewNeed(&submitted)));
    }
    assert!(coordinator.can(Action::CurateNeed(&submitted)) && !cluster.can(Action::CurateNeed(&submitted)));
    assert!(
        askoy.can(Action::CosignFor { municipality_id: 25 })
            && !askoy.can(Action::CosignFor { municipality_id: 24 })
    );
}

#[test]
fn tokens_are_managed_by_their_owner_and_the_region_coordinators() {
    let person = bergen_member(10);
    let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
    assert!(viewer(10, vec![]).can(Action::MintTokenFor(&person)));
    assert!(coordinator.can(Action::MintTokenFor(&person)));
    assert!(coordinator.can(Action::ManageToken { owner: &person, bound: None }));
    let colleague = viewer(
        5,
        vec![grant(Role::UnitMember, Organisation::Municipality { id: 24, cluster_id: Some(1) }, REGION)],
    );
    let cluster = viewer(3, vec![grant(Role::UnitCoordinator, Organisation::Cluster(1), REGION)]);
    for v in [&colleague, &cluster] {
        assert!(!v.can(Action::MintTokenFor(&person)));
        assert!(!v.can(Action::ManageToken { owner: &person, bound: None }));
    }
}

/// The review's case: B's coordinator and a person who coordinates A and is a member in B.
#[test]
fn managing_someone_elses_tokens_never_reaches_past_the_managers_regions() {
    let victim = PersonScope {
        person_id: 20,
        home_partnership_id: Some(REGION),
        registered_regions: Vec::new(),
        grants: vec![
            grant(Role::Coordinator, Organisation::Region(REGION), REGION),
            grant(Role::UnitMember, Organisation::Municipality { id: 40, cluster_id: Some(5) }, OTHER_REGION),
        ],
    };
    let b = viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]);
    assert!(b.can(Action::MintTokenFor(&victim)), "B may give the person a token for B");
    assert!(b.can(Action::ManageToken { owner: &victim, bound: Some(&[OTHER_REGION]) }));
    assert!(!b.can(Action::ManageToken { owner: &victim, bound: None }), "the person's own token reaches A");
    assert!(!b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION]) }));
    assert!(!b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION, OTHER_REGION]) }));
    assert!(!b.can(Action::ManageToken { owner: &victim, bound: Some(&[]) }), "reaches nothing: nobody's");

    // The person holding a token bound to B manages only tokens bound within B.
    let bound_to_b = Viewer::authenticated(Arc::new(Identity {
        person_id: 20,
        token_id: 7,
        minted_by: Some(2),
        bound: Some(vec![OTHER_REGION]),
        bound_by: Some(2),
        grants: vec![victim.grants[1]],
    }));
    assert!(bound_to_b.can(Action::ManageToken { owner: &victim, bound: Some(&[OTHER_REGION]) }));
    assert!(!bound_to_b.can(Action::ManageToken { owner: &victim, bound: None }));
    assert!(!bound_to_b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION]) }));
    assert!(!bound_to_b.can(Action::ManagePeople { partnership_id: REGION }));
    assert!(!bound_to_b.can(Action::ReadAuditLog { partnership_id: REGION }));
    let unbound = viewer(20, victim.grants.clone());
    assert!(unbound.can(Action::ManageToken { owner: &victim, bound: None }));
}

#[test]
fn the_commission_scope_is_the_rule_for_seeing_a_commission() {
    let viewers = [
        Viewer::public(),
        viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]),
        viewer(2, vec![grant(Role::InstitutionMember, Organisation::Institution(3), OTHER_REGION)]),
        viewer(3, vec![grant(Role::UnitCoordinator, Organisation::Cluster(1), REGION)]),
        viewer(
            4,
            vec![grant(
                Role::UnitMember,
                Organisation::Municipality { id: 24, cluster_id: Some(1) },
                OTHER_REGION,
            )],
        ),
    ];
    let statuses = [
        CommissionStatus::Draft,
        CommissionStatus::Open,
        CommissionStatus::Awarded,
        CommissionStatus::InProgress,
        CommissionStatus::Delivered,
        CommissionStatus::Published,
        CommissionStatus::Cancelled,
    ];
    for viewer in &viewers {
        let scope = viewer.commission_scope();
        for status in statuses {
            for partnership_id in [REGION, OTHER_REGION, 99] {
                let in_scope = match status {
                    CommissionStatus::Published => true,
                    CommissionStatus::Draft => scope.draft_regions.contains(&partnership_id),
                    _ => scope.all_past_draft || scope.regions.contains(&partnership_id),
                };
                assert_eq!(
                    in_scope,
                    viewer.can(Action::SeeCommission { status, partnership_id }),
                    "{viewer:?} {status:?} in region {partnership_id}"
                );
            }
        }
    }
}
