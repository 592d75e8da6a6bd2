//! The rules, case by case, and the commission scope held to the rule for seeing a commission.
//!
//! The tree of these cases: the nation (KSF's body) over RSO Vest's region, over Vestland, over
//! two clusters; Bergen and Askøy in the first. Oslo kommune with the districts Alna and Søndre
//! Nordstrand. Partnerships: RSO Vest (`REGION`), another region's (`OTHER_REGION`), KSF
//! (`NATIONAL`, serving everyone under the nation) and Områdesatsingene (`PROGRAMME`, taking Alna's
//! and Søndre Nordstrand's needs).

use std::sync::Arc;

use entity::enums::{CommissionStatus, NeedStatus, Role};

use super::{Action, NeedScope, PersonScope, allowed};
use crate::{
    auth::viewer::{Grant, Identity, Viewer},
    domain::rounds::Scorer,
    error::AppError,
};

const REGION: i32 = 1;
const OTHER_REGION: i32 = 2;
const NATIONAL: i32 = 3;
const PROGRAMME: i32 = 4;

const NATION: i32 = 100;
const VEST: i32 = 101;
const VESTLAND: i32 = 102;
const CLUSTER: i32 = 103;
const OTHER_CLUSTER: i32 = 104;
const BERGEN: i32 = 105;
const ASKOY: i32 = 106;
const OSLO: i32 = 200;
const ALNA: i32 = 201;
const SONDRE_NORDSTRAND: i32 = 202;
const UIB: i32 = 300;

/// An organisation and every organisation above it.
fn ancestors(organisation: i32) -> Vec<i32> {
    match organisation {
        BERGEN => vec![BERGEN, CLUSTER, VESTLAND, VEST, NATION],
        ASKOY => vec![ASKOY, CLUSTER, VESTLAND, VEST, NATION],
        CLUSTER | OTHER_CLUSTER => vec![organisation, VEST, NATION],
        ALNA | SONDRE_NORDSTRAND => vec![organisation, OSLO, NATION],
        OSLO => vec![OSLO, NATION],
        other => vec![other],
    }
}

/// The partnerships that manage an organisation's people: those serving it most nearly.
fn managing(organisation: i32) -> Vec<i32> {
    match organisation {
        ALNA | SONDRE_NORDSTRAND => vec![PROGRAMME],
        OSLO => vec![NATIONAL],
        _ => vec![REGION],
    }
}

/// The partnerships that serve an organisation.
fn serving(organisation: i32) -> Vec<i32> {
    match organisation {
        ALNA | SONDRE_NORDSTRAND => vec![NATIONAL, PROGRAMME],
        OSLO => vec![NATIONAL],
        UIB => vec![REGION],
        _ => vec![REGION, NATIONAL],
    }
}

fn coordinator_of(partnership_id: i32) -> Grant {
    Grant {
        membership_id: 0,
        role: Role::Coordinator,
        partnership_id: Some(partnership_id),
        organisation_id: None,
        institution_id: None,
        ancestors: Vec::new(),
        partnerships: vec![partnership_id],
        managed_by: vec![partnership_id],
        national: partnership_id == NATIONAL,
    }
}

fn in_unit(role: Role, organisation: i32) -> Grant {
    Grant {
        membership_id: 0,
        role,
        partnership_id: None,
        organisation_id: Some(organisation),
        institution_id: None,
        ancestors: ancestors(organisation),
        partnerships: serving(organisation),
        managed_by: managing(organisation),
        national: false,
    }
}

fn member_of_institution(institution_id: i32) -> Grant {
    Grant { institution_id: Some(institution_id), ..in_unit(Role::InstitutionMember, UIB) }
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
        grants: vec![in_unit(Role::UnitMember, BERGEN)],
    }
}

fn need(status: NeedStatus, organisation_id: i32, partnership_id: i32) -> NeedScope {
    NeedScope {
        status,
        organisation_id,
        ancestors: ancestors(organisation_id),
        partnership_id: Some(partnership_id),
    }
}

#[test]
fn personal_data_follows_the_written_rule() {
    let person = bergen_member(10);
    let cases = [
        ("the person", viewer(10, vec![]), true),
        ("a coordinator of the region", viewer(1, vec![coordinator_of(REGION)]), true),
        (
            "a national coordinator, who serves Bergen from further up than RSO Vest",
            viewer(8, vec![coordinator_of(NATIONAL)]),
            false,
        ),
        ("a coordinator of another region", viewer(2, vec![coordinator_of(OTHER_REGION)]), false),
        ("a coordinator of Områdesatsingene", viewer(9, vec![coordinator_of(PROGRAMME)]), false),
        ("the cluster coordinator", viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]), true),
        (
            "another cluster's coordinator",
            viewer(4, vec![in_unit(Role::UnitCoordinator, OTHER_CLUSTER)]),
            false,
        ),
        ("a colleague in Bergen", viewer(5, vec![in_unit(Role::UnitMember, BERGEN)]), true),
        ("a member of another municipality", viewer(6, vec![in_unit(Role::UnitMember, ASKOY)]), false),
        ("an institution member", viewer(7, vec![member_of_institution(1)]), false),
        ("the public", Viewer::public(), false),
    ];
    for (who, viewer, allowed) in cases {
        assert_eq!(viewer.can(Action::SeePersonalData(&person)), allowed, "{who}");
    }
}

#[test]
fn a_districts_people_are_managed_by_the_partnerships_nearest_it() {
    let person = PersonScope { grants: vec![in_unit(Role::UnitMember, ALNA)], ..bergen_member(10) };
    assert!(viewer(1, vec![coordinator_of(PROGRAMME)]).can(Action::SeePersonalData(&person)));
    assert!(viewer(1, vec![coordinator_of(PROGRAMME)]).can(Action::MintTokenFor(&person)));
    for far in [NATIONAL, REGION] {
        let v = viewer(2, vec![coordinator_of(far)]);
        assert!(!v.can(Action::SeePersonalData(&person)) && !v.can(Action::MintTokenFor(&person)), "{far}");
    }
    assert!(
        viewer(3, vec![in_unit(Role::UnitCoordinator, OSLO)]).can(Action::SeePersonalData(&person)),
        "a unit above"
    );
}

#[test]
fn webhooks_are_managed_by_the_serving_partnerships_and_the_unit_coordinators_at_or_above() {
    let manage = |organisation: i32| (serving(organisation), ancestors(organisation));
    let can = |who: &Viewer, organisation: i32| {
        let (partnerships, units) = manage(organisation);
        who.can(Action::ManageWebhooks { partnerships: &partnerships, units: &units })
    };
    let coordinator = viewer(1, vec![coordinator_of(REGION)]);
    assert!(can(&coordinator, BERGEN) && can(&coordinator, UIB));
    assert!(!can(&coordinator, ALNA), "RSO Vest does not serve Alna");
    assert!(!can(&viewer(2, vec![coordinator_of(OTHER_REGION)]), CLUSTER));
    let cluster = viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]);
    assert!(can(&cluster, CLUSTER) && can(&cluster, BERGEN), "its unit and the units below it");
    assert!(!can(&cluster, VEST) && !can(&cluster, OTHER_CLUSTER), "never above or beside it");
    for other in [
        in_unit(Role::UnitMember, BERGEN),
        member_of_institution(UIB),
        in_unit(Role::UnitCoordinator, OTHER_CLUSTER),
    ] {
        assert!(!can(&viewer(4, vec![other.clone()]), BERGEN), "{other:?}");
    }
    let (partnerships, units) = manage(BERGEN);
    assert_eq!(
        viewer(5, vec![in_unit(Role::UnitMember, BERGEN)])
            .require(Action::ManageWebhooks { partnerships: &partnerships, units: &units }),
        Err(AppError::Forbidden(allowed::MANAGE_WEBHOOKS))
    );
    assert_eq!(
        Viewer::public().require(Action::ManageWebhooks { partnerships: &partnerships, units: &units }),
        Err(AppError::Unauthenticated)
    );
}

#[test]
fn an_institutions_profile_is_set_by_its_members_its_partnership_and_the_national_coordinators() {
    const OTHER_INSTITUTION: i32 = 301;
    let profile = Action::SetInstitutionProfile { institution_id: UIB, partnership_id: REGION };
    for allowed in [
        viewer(1, vec![member_of_institution(UIB)]),
        viewer(2, vec![coordinator_of(REGION)]),
        viewer(3, vec![coordinator_of(NATIONAL)]),
    ] {
        assert!(allowed.can(profile), "{allowed:?}");
    }
    for refused in [
        member_of_institution(OTHER_INSTITUTION),
        coordinator_of(OTHER_REGION),
        coordinator_of(PROGRAMME),
        in_unit(Role::UnitCoordinator, CLUSTER),
        in_unit(Role::UnitMember, BERGEN),
    ] {
        assert!(!viewer(4, vec![refused.clone()]).can(profile), "{refused:?}");
    }
    assert_eq!(
        viewer(5, vec![in_unit(Role::UnitMember, BERGEN)]).require(profile),
        Err(AppError::Forbidden(allowed::SET_INSTITUTION_PROFILE))
    );
    assert_eq!(Viewer::public().require(profile), Err(AppError::Unauthenticated));
}

#[test]
fn only_coordinators_of_the_partnership_manage_people() {
    let coordinator = viewer(1, vec![coordinator_of(REGION)]);
    assert!(coordinator.can(Action::ManagePeople { partnership_id: REGION }));
    assert!(!coordinator.can(Action::ManagePeople { partnership_id: OTHER_REGION }));
    let cluster = viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]);
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
fn needs_follow_the_unit_that_raised_them_the_units_above_it_and_their_pool() {
    let draft = need(NeedStatus::Draft, BERGEN, REGION);
    let submitted = need(NeedStatus::Submitted, BERGEN, REGION);
    let bergen = viewer(5, vec![in_unit(Role::UnitMember, BERGEN)]);
    let askoy = viewer(6, vec![in_unit(Role::UnitMember, ASKOY)]);
    let cluster = viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]);
    let other_cluster = viewer(4, vec![in_unit(Role::UnitCoordinator, OTHER_CLUSTER)]);
    let coordinator = viewer(1, vec![coordinator_of(REGION)]);
    let elsewhere = viewer(2, vec![coordinator_of(OTHER_REGION)]);
    let national = viewer(8, vec![coordinator_of(NATIONAL)]);
    let see = |v: &Viewer, n: &NeedScope| {
        v.can(Action::SeeNeed { status: n.status, organisation_id: n.organisation_id })
    };

    assert!(see(&bergen, &draft));
    for v in [&askoy, &cluster, &coordinator, &Viewer::public()] {
        assert!(!see(v, &draft), "drafts stay in their unit");
        assert!(see(v, &submitted));
    }
    assert!(bergen.can(Action::EditNeed(&draft)) && !askoy.can(Action::EditNeed(&draft)));
    assert!(cluster.can(Action::ReviewNeed(&submitted)) && coordinator.can(Action::ReviewNeed(&submitted)));
    assert!(!cluster.can(Action::ReviewNeed(&draft)), "a draft is not for review");
    for v in [&bergen, &other_cluster, &elsewhere, &national] {
        assert!(!v.can(Action::ReviewNeed(&submitted)), "not its pool, nor a unit above it");
    }
    assert!(coordinator.can(Action::CurateNeed(&submitted)) && !cluster.can(Action::CurateNeed(&submitted)));
    assert!(
        askoy.can(Action::CosignFor { organisation_id: ASKOY })
            && !askoy.can(Action::CosignFor { organisation_id: BERGEN })
    );
    assert!(national.can(Action::CosignFor { organisation_id: ALNA }), "on behalf, across regions");
    assert!(
        !coordinator.can(Action::CosignFor { organisation_id: BERGEN }),
        "a region's coordinator does not"
    );
}

#[test]
fn a_district_need_is_reviewed_by_its_pool_and_the_units_above_it_and_hidden_from_the_next_district() {
    let draft = need(NeedStatus::Draft, SONDRE_NORDSTRAND, PROGRAMME);
    let submitted = need(NeedStatus::Submitted, SONDRE_NORDSTRAND, PROGRAMME);
    let alna = viewer(1, vec![in_unit(Role::UnitMember, ALNA)]);
    let oslo = viewer(2, vec![in_unit(Role::UnitCoordinator, OSLO)]);
    let programme = viewer(3, vec![coordinator_of(PROGRAMME)]);
    let district = viewer(4, vec![in_unit(Role::UnitMember, SONDRE_NORDSTRAND)]);
    let alna_coordinator = viewer(5, vec![in_unit(Role::UnitCoordinator, ALNA)]);
    assert!(!alna.can(Action::SeeNeed { status: draft.status, organisation_id: SONDRE_NORDSTRAND }));
    assert!(district.can(Action::SeeNeed { status: draft.status, organisation_id: SONDRE_NORDSTRAND }));
    assert!(
        oslo.can(Action::ReviewNeed(&submitted)),
        "Oslo kommune's unit coordinator is above the district"
    );
    assert!(programme.can(Action::ReviewNeed(&submitted)) && programme.can(Action::CurateNeed(&submitted)));
    assert!(!oslo.can(Action::CurateNeed(&submitted)), "curating is the pool's");
    assert!(!alna_coordinator.can(Action::ReviewNeed(&submitted)), "a sibling is not above it");
    assert!(!district.can(Action::ReviewNeed(&submitted)));
}

#[test]
fn units_of_any_kind_score_through_their_coordinators_and_institutions_through_their_members() {
    let alna = viewer(1, vec![in_unit(Role::UnitCoordinator, ALNA)]);
    let alna_member = viewer(2, vec![in_unit(Role::UnitMember, ALNA)]);
    let uib = viewer(3, vec![member_of_institution(7)]);
    assert_eq!(alna.scorers(), vec![Scorer::Unit(ALNA)]);
    assert!(alna.can(Action::ScoreFor { scorer: Scorer::Unit(ALNA) }));
    assert!(!alna.can(Action::ScoreFor { scorer: Scorer::Unit(SONDRE_NORDSTRAND) }));
    assert!(!alna_member.can(Action::ScoreFor { scorer: Scorer::Unit(ALNA) }), "members do not score");
    assert!(uib.can(Action::ScoreFor { scorer: Scorer::Institution(7) }));
    assert!(!uib.can(Action::ScoreFor { scorer: Scorer::Institution(8) }));
    assert!(
        alna.can(Action::SeeRound { partnership_id: PROGRAMME })
            && !alna.can(Action::SeeRound { partnership_id: REGION })
    );
}

#[test]
fn tokens_are_managed_by_their_owner_and_the_region_coordinators() {
    let person = bergen_member(10);
    let coordinator = viewer(1, vec![coordinator_of(REGION)]);
    assert!(viewer(10, vec![]).can(Action::MintTokenFor(&person)));
    assert!(coordinator.can(Action::MintTokenFor(&person)));
    assert!(coordinator.can(Action::ManageToken { owner: &person, bound: None }));
    let colleague = viewer(5, vec![in_unit(Role::UnitMember, BERGEN)]);
    let cluster = viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]);
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
            coordinator_of(REGION),
            Grant {
                partnerships: vec![OTHER_REGION],
                managed_by: vec![OTHER_REGION],
                ..in_unit(Role::UnitMember, 40)
            },
        ],
    };
    let b = viewer(2, vec![coordinator_of(OTHER_REGION)]);
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
        grants: vec![victim.grants[1].clone()],
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
        viewer(1, vec![coordinator_of(REGION)]),
        viewer(2, vec![member_of_institution(3)]),
        viewer(3, vec![in_unit(Role::UnitCoordinator, CLUSTER)]),
        viewer(4, vec![in_unit(Role::UnitMember, ALNA)]),
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
