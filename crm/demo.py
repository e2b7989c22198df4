"""The demo: two neighbouring county jail systems and the organizations around them.

Harbor County (a sheriff's office with a jail and a community corrections center) and its
neighbour Lakes County (one jail), each with its women's units, rooms and visitor rules, the
community organizations around them at every stage of the pipeline with their history,
contacts and outreach log, and follow-ups falling due around today. Ana Flores, director of a
parenting organization that serves both counties, is a partner user in both workspaces.

Names, addresses and phone numbers (555-01xx) are fictional. Everything is the same on every
load except the passwords and the random public ids; times count from `crm.clock.now()` in the
workspace's zone, so the demo always reads as "recent months" and "this week". Demo passwords
are random, made once, and kept in the instance folder (readable by the machine's operator only)
so `make run` can print them every time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from crm import clock
from crm.auth.services import create_user, find_user, generate_password
from crm.extensions import db
from crm.facilities.models import Facility, FacilityRule, Location, Unit, UnitOfficer
from crm.facilities.models import LocationKind as L
from crm.facilities.models import RuleTopic as R
from crm.facilities.models import Sex as X
from crm.followups.models import FollowUpStatus
from crm.followups.services import create_follow_up
from crm.partners.models import Activity, ActivityAttendee, Contact, Organization, StageChange
from crm.partners.models import ActivityKind as A
from crm.partners.models import OrganizationKind as K
from crm.partners.models import Stage as S
from crm.roles import Role
from crm.tenancy import workspace_context
from crm.workspaces.services import add_membership, create_workspace

HARBOR = "Harbor County Sheriff's Office"
LAKES = "Lakes County Jail"
TIMEZONE = "America/Chicago"

HARBOR_ORGANIZATIONS = [
    (
        "NAMI Harbor County",
        K.MENTAL_HEALTH,
        S.ACTIVE,
        "Free peer-led education and support for people living with mental illness "
        "and their families.",
    ),
    (
        "Harbor Area AA/NA Intergroup",
        K.SUBSTANCE_USE,
        S.ACTIVE,
        "Coordinates 12-step meetings across the county, including meetings inside the jail.",
    ),
    (
        "Safe Harbor Rape Crisis Center",
        K.RAPE_CRISIS,
        S.AGREEMENT,
        "24-hour crisis line, advocacy and counseling for survivors of sexual violence.",
    ),
    (
        "Harbor Workforce Development Board",
        K.JOB_SKILLS,
        S.CONTACTED,
        "Job readiness, training vouchers and placement through the American Job Center.",
    ),
    (
        "First Methodist Prison Ministry",
        K.FAITH_BASED,
        S.ACTIVE,
        "Weekly worship and one-to-one visits; reentry mentoring after release.",
    ),
    (
        "Harbor County Probation Department",
        K.PROBATION_PAROLE,
        S.ACTIVE,
        "Supervision and case planning for people released on probation.",
    ),
    (
        "Little Steps Parenting Collective",
        K.CHILD_WELFARE,
        S.IDENTIFIED,
        "Parenting classes and supervised family visits for parents working toward reunification.",
    ),
    (
        "Bright Futures Family Services",
        K.HUMAN_SERVICES,
        S.RESEARCHED,
        "Parenting support, family linkage and help with benefits applications.",
    ),
    (
        "Harbor Women's Health Clinic",
        K.WOMENS_HEALTH,
        S.TOURED,
        "Reproductive and primary health care on a sliding fee scale.",
    ),
    (
        "New Dawn Halfway House",
        K.HALFWAY_HOUSE,
        S.CROSS_TRAINED,
        "Transitional housing for women leaving jail, with case management.",
    ),
    (
        "Peer Bridges Recovery Network",
        K.PEER_SUPPORT,
        S.CONTACTED,
        "Certified peer recovery specialists who meet people before and after release.",
    ),
    (
        "Harbor Pretrial Services",
        K.PRETRIAL,
        S.PAUSED,
        "Risk assessment and supervision alternatives before trial.",
    ),
    (
        "Literacy Volunteers of Harbor",
        K.CIVIC,
        S.ENDED,
        "One-to-one tutoring in reading, writing and GED preparation.",
    ),
    (
        "Goodwill Career Center",
        K.JOB_SKILLS,
        S.IDENTIFIED,
        "Job placement and work clothing for job seekers with records.",
    ),
    (
        "Harbor Legal Aid Society",
        K.OTHER,
        S.RESEARCHED,
        "Civil legal help with housing, custody and record expungement.",
    ),
    (
        "Community Kitchen of Harbor",
        K.HUMAN_SERVICES,
        S.IDENTIFIED,
        "Meals and groceries with no questions asked.",
    ),
]

LAKES_ORGANIZATIONS = [
    (
        "Lakes Region Mental Health Center",
        K.MENTAL_HEALTH,
        S.ACTIVE,
        "Outpatient counseling, crisis services and medication management.",
    ),
    (
        "Lakes Recovery Community",
        K.PEER_SUPPORT,
        S.CONTACTED,
        "Peer-run recovery center with meetings, coaching and a warm line.",
    ),
    (
        "Bright Futures Family Services",
        K.HUMAN_SERVICES,
        S.ACTIVE,
        "Parenting support, family linkage and help with benefits applications.",
    ),
    (
        "St. Brigid Jail Ministry",
        K.FAITH_BASED,
        S.TOURED,
        "Chaplaincy volunteers for worship, study and one-to-one visits.",
    ),
    (
        "Lakes County Probation",
        K.PROBATION_PAROLE,
        S.ACTIVE,
        "Supervision and reentry planning for people on probation.",
    ),
]

# --- the shape of the data -------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A contact of an organization; `login` names a demo user who is this person."""

    name: str
    title: str
    email: str = ""
    phone: str = ""
    notes: str = ""
    login: str = ""


@dataclass(frozen=True)
class Logged:
    """One entry of the outreach log, `days` before today at `hour` local time. Attendees are
    staff keys (see STAFF) or names of the organization's contacts."""

    kind: A
    days: int
    hour: float
    author: str
    summary: str
    outcome: str = ""
    next_step: str = ""
    attendees: tuple[str, ...] = ()
    facility: str = ""


@dataclass(frozen=True)
class Profile:
    """What the workspace knows of one organization. `history` holds, oldest first, how many
    days ago each step of its path (see `path_to`) was taken; `notes` explains some steps."""

    history: tuple[int, ...]
    owner: str = ""
    moved_by: str = ""
    phone: str = ""
    phone_alt: str = ""
    website: str = ""
    email: str = ""
    address: str = ""
    values: str = ""
    clients_served: str = ""
    interests: str = ""
    notes: tuple[tuple[S, str], ...] = ()
    people: tuple[Person, ...] = ()
    log: tuple[Logged, ...] = ()


@dataclass(frozen=True)
class Room:
    name: str
    kind: L
    capacity: int


@dataclass(frozen=True)
class HousingUnit:
    name: str
    sex: X
    capacity: int
    officers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    name: str
    address: str
    capacity: int
    units: tuple[HousingUnit, ...]
    rooms: tuple[Room, ...]
    rules: tuple[tuple[R, str], ...]


@dataclass(frozen=True)
class StaffMember:
    key: str
    email: str
    name: str
    role: Role


PIPELINE = (
    S.IDENTIFIED,
    S.RESEARCHED,
    S.CONTACTED,
    S.TOURED,
    S.CROSS_TRAINED,
    S.AGREEMENT,
    S.ACTIVE,
)


def path_to(stage: S) -> tuple[S, ...]:
    """The steps an organization took to reach `stage`: paused and ended partnerships were
    active first."""
    if stage in (S.PAUSED, S.ENDED):
        return (*PIPELINE, stage)
    return PIPELINE[: PIPELINE.index(stage) + 1]


# --- Harbor County ---------------------------------------------------------------------------

HARBOR_STAFF = (
    StaffMember("dana", "dana.reyes@harbor.example", "Lt. Dana Reyes", Role.ADMIN),
    StaffMember("sam", "sam.owens@harbor.example", "Sgt. Sam Owens", Role.STAFF),
    StaffMember("tasha", "tasha.greene@harbor.example", "Ofc. Tasha Greene", Role.STAFF),
    StaffMember("board", "board@harbor.example", "County board member", Role.VIEWER),
)

JAIL = "Harbor County Jail"
CCC = "Harbor Community Corrections Center"

HARBOR_SITES = (
    Site(
        JAIL,
        "400 Courthouse Drive, Harbor City, WI 54990",
        320,
        units=(
            HousingUnit("Unit A", X.MALE, 96),
            HousingUnit("Unit B", X.MALE, 96),
            HousingUnit("Unit E", X.FEMALE, 32, officers=("tasha",)),
            HousingUnit("Unit F", X.FEMALE, 48, officers=("sam", "tasha")),
        ),
        rooms=(
            Room("Classroom 1 (Unit F)", L.CLASSROOM, 16),
            Room("Classroom 2", L.CLASSROOM, 12),
            Room("Chapel", L.CHAPEL, 30),
            Room("Unit E dayroom", L.DAYROOM, 28),
            Room("Unit F dayroom", L.DAYROOM, 40),
            Room("Visiting room", L.VISITING_ROOM, 20),
        ),
        rules=(
            (
                R.IDENTIFICATION,
                "Bring a valid government-issued photo ID (driver's license, state ID card or "
                "passport) to every visit. Your name must be on the day's gate list: the lobby "
                "officer cannot admit anyone who is not on it, even with staff approval by phone. "
                "Exchange your ID for a visitor badge at Central Control and wear the badge above "
                "the waist at all times. If you lose it, tell your escort at once.",
            ),
            (
                R.PHONES,
                "No cell phones, smart watches, fitness trackers, tablets, laptops, cameras or "
                "any device that records or transmits past the lobby. Leave them in your vehicle "
                "or in a lobby locker (quarters only). A device found in a secure area is "
                "contraband under state law and ends your clearance.",
            ),
            (
                R.DRESS,
                "Dress conservatively. Not allowed: orange, khaki or tan clothing (worn by "
                "individuals in custody), camouflage, sleeveless or low-cut tops, shorts, skirts "
                "or dresses above the knee, see-through fabric, hooded sweatshirts and hats. Wear "
                "closed-toe shoes. Underwire and metal buttons may set off the metal detector; "
                "allow time for a pat search. The shift supervisor's decision is final.",
            ),
            (
                R.MATERIALS,
                "Everything you bring in must be approved by the Programs Lieutenant at least "
                "7 days ahead and listed on the gate list: workbooks, handouts, DVDs. Soft-cover "
                "only: no staples, paper clips, spiral bindings or hardcover books. Pencils are "
                "counted in and out; no pens, markers, scissors, food, drinks, gum or medication. "
                "Nothing passes to or from an individual in custody, including letters, phone "
                "numbers and money.",
            ),
            (
                R.EMERGENCY,
                "If an alarm sounds or an officer calls a code, stop the program, stay in the "
                "room, move away from the door and follow your escort's directions. Do not try "
                "to leave on your own. During a lockdown you stay where you are until the count "
                "clears, which can take an hour or more. Duress buttons are beside the door of "
                "every classroom and in the chapel.",
            ),
            (
                R.CONDUCT,
                "The Harbor County Sheriff's Office has zero tolerance for sexual abuse and "
                "sexual harassment (PREA). Report anything you see or hear to your escort or the "
                "shift supervisor at once, or call the PREA coordinator at (920) 555-0147. Do not "
                "give your home address or phone number to anyone in custody, and do not contact "
                "anyone for 90 days after release without the Programs Lieutenant's written "
                "approval.",
            ),
        ),
    ),
    Site(
        CCC,
        "1150 Industrial Parkway, Harbor City, WI 54990",
        90,
        units=(
            HousingUnit("Men's dorm", X.MALE, 60),
            HousingUnit("Women's dorm", X.FEMALE, 24, officers=("tasha",)),
        ),
        rooms=(
            Room("Multipurpose room", L.CLASSROOM, 20),
            Room("Women's dorm dayroom", L.DAYROOM, 24),
            Room("Visiting room", L.VISITING_ROOM, 16),
        ),
        rules=(
            (
                R.IDENTIFICATION,
                "Sign in at the front desk with a photo ID and sign out when you leave. Residents "
                "leave only on an approved pass: never give a resident a ride unless the "
                "Center's supervisor has approved it in writing.",
            ),
            (
                R.PHONES,
                "Phones are allowed in the lobby and staff offices. In the dorms and the "
                "multipurpose room keep them switched off and out of sight; never let a resident "
                "use your phone, and never photograph a resident.",
            ),
            (
                R.EMERGENCY,
                "Fire assembly point: the north parking lot. When the alarm sounds, lead your "
                "group out the nearest marked exit and wait with the staff member on duty for the "
                "head count.",
            ),
        ),
    ),
)

HARBOR_PROFILES: dict[str, Profile] = {
    "NAMI Harbor County": Profile(
        history=(330, 322, 305, 276, 245, 214, 183),
        owner="dana",
        phone="(920) 555-0114",
        website="https://www.namiharbor.example",
        email="info@namiharbor.example",
        address="310 Lake Street, Suite 4, Harbor City, WI 54990",
        values="Recovery is possible. People with lived experience lead. No one walks alone.",
        clients_served="Adults living with mental illness and their families; free of charge; "
        "English and Spanish.",
        interests="Runs Peer-to-Peer and Family-to-Family; two of their In Our Own Voice "
        "presenters were once in our jail. Their board chair sits on the county's Stepping Up "
        "committee. Interested in a weekly support group in Unit F and a family night in the "
        "visiting room.",
        people=(
            Person(
                "Denise Harper",
                "Executive Director",
                "dharper@namiharbor.example",
                "(920) 555-0114",
            ),
            Person(
                "Luis Ortega",
                "Peer-to-Peer facilitator",
                "lortega@namiharbor.example",
                "(920) 555-0115",
            ),
            Person("Karen Whitfield", "Volunteer, In Our Own Voice presenter"),
        ),
        log=(
            Logged(
                A.CALL,
                305,
                10,
                "dana",
                "Called Denise Harper after the county resource fair.",
                "Open to a support group inside; wants to see the rooms first.",
                "Invite Denise and Luis for a tour.",
                ("Denise Harper",),
            ),
            Logged(
                A.TOUR,
                276,
                13.5,
                "dana",
                "Toured Unit F, Classroom 1 and the visiting room.",
                "Classroom 1 fits a group of 12. Luis asked about bringing workbooks.",
                "Send the materials rule and the volunteer application.",
                ("Denise Harper", "Luis Ortega", "dana", "sam"),
                JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                245,
                9,
                "dana",
                "NAMI taught the basics of Mental Health First Aid to Unit E and F officers; we "
                "walked their facilitators through count times, escorts and the duress buttons.",
                "Eight officers attended.",
                attendees=("Denise Harper", "Luis Ortega", "sam", "tasha"),
                facility=JAIL,
            ),
            Logged(
                A.MEETING,
                21,
                14,
                "dana",
                "Quarterly review of the Thursday support group.",
                "Attendance steady at 9-12. They can add a Spanish-speaking facilitator in the "
                "new year.",
                "Schedule the quarterly review in three months.",
                ("Denise Harper", "dana"),
            ),
        ),
    ),
    "Harbor Area AA/NA Intergroup": Profile(
        history=(395, 390, 384, 370, 352, 340, 331),
        owner="sam",
        moved_by="sam",
        phone="(920) 555-0131",
        phone_alt="(920) 555-0132",
        website="https://www.harboraa.example",
        email="hi-committee@harboraa.example",
        address="PO Box 412, Harbor City, WI 54990",
        values="The Twelve Traditions: self-supporting, non-professional, attraction rather "
        "than promotion.",
        clients_served="Anyone with a desire to stop drinking or using. Meetings are free and "
        "anonymous.",
        interests="The Hospitals & Institutions (H&I) committee brings meetings inside. Volunteers "
        "need a year of continuous sobriety and the committee's orientation. Anonymous: no "
        "rosters, counts only.",
        people=(
            Person("Tom R.", "H&I committee chair", "hi-committee@harboraa.example"),
            Person("Linda M.", "NA H&I coordinator", phone="(920) 555-0133"),
        ),
        log=(
            Logged(
                A.TOUR,
                370,
                18,
                "sam",
                "Walked the H&I committee through the chapel and the Unit F dayroom.",
                "Evening meetings work best for their volunteers.",
                attendees=("Tom R.", "Linda M.", "sam"),
                facility=JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                352,
                18.5,
                "sam",
                "Volunteer orientation: gate list, materials rule, PREA and what to do in a "
                "lockdown.",
                "Six H&I volunteers cleared for orientation.",
                attendees=("Tom R.", "sam"),
                facility=JAIL,
            ),
            Logged(
                A.CALL,
                11,
                11,
                "sam",
                "Tom R. asked to add a Saturday NA meeting in Unit E.",
                "Possible once two more women volunteers finish orientation.",
                "Walk the new volunteers through Unit F's classroom.",
                ("Tom R.",),
            ),
        ),
    ),
    "Safe Harbor Rape Crisis Center": Profile(
        history=(205, 196, 178, 150, 121, 40),
        owner="dana",
        phone="(920) 555-0190",
        phone_alt="(920) 555-0191",
        website="https://www.safeharborcenter.example",
        email="office@safeharborcenter.example",
        address="Confidential location; mail to PO Box 77, Harbor City, WI 54990",
        values="Survivors are believed. Services are free, confidential and survivor-led.",
        clients_served="Survivors of sexual violence of any age and gender, and the people who "
        "support them. 24-hour crisis line.",
        interests="Our outside confidential support line for PREA: the MOU makes the crisis line "
        "available from the Unit E and F phones at no cost. Advocates can meet a woman in the "
        "visiting room within 48 hours of her request.",
        notes=((S.AGREEMENT, "MOU for PREA victim advocacy signed by the Sheriff."),),
        people=(
            Person(
                "Rebecca Lindqvist",
                "Executive Director",
                "rlindqvist@safeharborcenter.example",
                "(920) 555-0191",
            ),
            Person(
                "Maya Chen",
                "Sexual assault advocate, PREA liaison",
                "mchen@safeharborcenter.example",
                "(920) 555-0192",
            ),
        ),
        log=(
            Logged(
                A.CALL,
                178,
                10,
                "dana",
                "Called Rebecca about outside confidential support for PREA.",
                "They serve the county jail in Lakes already and can do the same here.",
                "Tour with Maya.",
                ("Rebecca Lindqvist",),
            ),
            Logged(
                A.TOUR,
                150,
                13,
                "dana",
                "Tour of Units E and F, the visiting room and the medical unit.",
                "Maya checked where the crisis line number is posted in each unit.",
                attendees=("Rebecca Lindqvist", "Maya Chen", "dana", "tasha"),
                facility=JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                121,
                8,
                "dana",
                "Trauma-informed responses to disclosures, for officers of both women's units.",
                "Eleven officers attended; Maya left pocket cards for each post.",
                attendees=("Maya Chen", "sam", "tasha"),
                facility=JAIL,
            ),
            Logged(
                A.MEETING,
                40,
                15,
                "dana",
                "MOU signing with the Sheriff.",
                "Signed for one year.",
                "Talk about renewal two months before it runs out.",
                ("Rebecca Lindqvist", "dana"),
            ),
        ),
    ),
    "Harbor Workforce Development Board": Profile(
        history=(92, 71, 26),
        owner="dana",
        phone="(920) 555-0160",
        website="https://www.harborworks.example",
        email="reentry@harborworks.example",
        address="American Job Center, 77 Commerce Avenue, Harbor City, WI 54990",
        values="A job is the surest road home. Fair-chance hiring.",
        clients_served="Job seekers 18 and over, including people with records; youth 16-24 in "
        "the WIOA youth program.",
        interests="Training vouchers (WIOA) can start before release if the case manager "
        "enrolls the woman 30 days ahead. Runs a fair-chance hiring event each spring.",
        people=(
            Person(
                "Gregory Sims",
                "Reentry services manager",
                "gsims@harborworks.example",
                "(920) 555-0161",
            ),
            Person("Alicia Moreno", "Career planner", "amoreno@harborworks.example"),
        ),
        log=(
            Logged(
                A.EMAIL,
                26,
                9,
                "dana",
                "Wrote to Gregory Sims about job readiness for women in the Community "
                "Corrections Center.",
                "He answered the same day and asked for a call.",
                attendees=("Gregory Sims",),
            ),
            Logged(
                A.CALL,
                12,
                10.5,
                "dana",
                "Call with Gregory and Alicia.",
                "Interested in a weekly job readiness class in the Center's multipurpose room.",
                "Check in about a tour of the Center.",
                ("Gregory Sims", "Alicia Moreno"),
            ),
        ),
    ),
    "First Methodist Prison Ministry": Profile(
        history=(365, 360, 352, 338, 320, 300, 290),
        owner="dana",
        phone="(920) 555-0123",
        website="https://www.firstmethodistharbor.example",
        email="ministry@firstmethodistharbor.example",
        address="22 Church Street, Harbor City, WI 54990",
        values="Hospitality, presence and hope, for anyone who asks.",
        clients_served="Anyone in custody who asks for a visit or worship; mentoring for women "
        "after release, whatever their faith.",
        interests="Sunday worship in the chapel and weekday one-to-one visits. Betty coordinates "
        "twelve volunteers. They could take the Tuesday afternoon slot in the chapel.",
        people=(
            Person(
                "Rev. Harold Jennings",
                "Pastor",
                "pastor@firstmethodistharbor.example",
                "(920) 555-0123",
            ),
            Person(
                "Betty Kowalski",
                "Prison ministry coordinator",
                "ministry@firstmethodistharbor.example",
                "(920) 555-0124",
            ),
            Person("Walter Nash", "Volunteer mentor"),
        ),
        log=(
            Logged(
                A.TOUR,
                338,
                10,
                "dana",
                "Tour of the chapel and the visiting room.",
                attendees=("Rev. Harold Jennings", "Betty Kowalski", "dana"),
                facility=JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                320,
                18,
                "dana",
                "Volunteer orientation for twelve ministry volunteers.",
                attendees=("Betty Kowalski", "Walter Nash", "dana", "sam"),
                facility=JAIL,
            ),
            Logged(
                A.CALL,
                15,
                11,
                "dana",
                "Betty asked about the Tuesday 13:30 chapel slot for a women's Bible study.",
                "Free on Tuesdays unless medical line runs late.",
                "Ask the chaplaincy for the Tuesday slot.",
                ("Betty Kowalski",),
            ),
        ),
    ),
    "Harbor County Probation Department": Profile(
        history=(400, 398, 396, 380, 366, 355, 350),
        owner="dana",
        phone="(920) 555-0170",
        website="https://www.harborcounty.example/probation",
        email="probation@harborcounty.example",
        address="Harbor County Justice Center, 410 Courthouse Drive, Harbor City, WI 54990",
        values="Public safety through accountability and support.",
        clients_served="Adults on probation or deferred prosecution in Harbor County.",
        interests="Agents can meet women in the visiting room before release to set the first "
        "appointment. Monthly reentry staffing with the Programs Lieutenant.",
        people=(
            Person(
                "Janet Okafor",
                "Chief probation officer",
                "jokafor@harborcounty.example",
                "(920) 555-0170",
            ),
            Person(
                "Derek Foster",
                "Reentry probation agent",
                "dfoster@harborcounty.example",
                "(920) 555-0172",
            ),
        ),
        log=(
            Logged(
                A.MEETING,
                35,
                9,
                "dana",
                "Monthly reentry staffing.",
                "Four women due for release in the next 30 days; two need housing.",
                "Ask New Dawn about two beds.",
                ("Derek Foster", "dana", "sam"),
            ),
            Logged(
                A.MEETING,
                7,
                9,
                "dana",
                "Monthly reentry staffing.",
                "Six women due for release in the next 30 days.",
                attendees=("Janet Okafor", "Derek Foster", "dana"),
            ),
        ),
    ),
    "Little Steps Parenting Collective": Profile(
        history=(16,),
        phone="(920) 555-0150",
        website="https://www.littlestepsharbor.example",
        address="58 Maple Avenue, Harbor City, WI 54990",
        notes=((S.IDENTIFIED, "Listed in the county resource guide under parenting."),),
    ),
    "Bright Futures Family Services": Profile(
        history=(46, 31),
        owner="dana",
        phone="(920) 555-0140",
        phone_alt="(920) 555-0141",
        website="https://www.brightfutures.example",
        email="hello@brightfutures.example",
        address="19 River Road, Harbor City, WI 54990",
        values="Every child deserves a connected parent. Families are the experts on their "
        "own lives.",
        clients_served="Parents and caregivers of children under 18 in Harbor and Lakes "
        "counties, including parents in jail and their children's caregivers.",
        interests="Certified in the Parenting Inside Out curriculum; already runs a weekly "
        "parenting class in the Lakes County Jail's women's pod. Director Ana Flores. Offers "
        "help with child support orders and benefits applications after release.",
        people=(
            Person(
                "Ana Flores",
                "Executive Director",
                "ana@brightfutures.example",
                "(920) 555-0140",
                login="ana@brightfutures.example",
            ),
        ),
    ),
    "Harbor Women's Health Clinic": Profile(
        history=(122, 101, 81, 18),
        owner="dana",
        phone="(920) 555-0180",
        website="https://www.harborwomenshealth.example",
        email="outreach@harborwomenshealth.example",
        address="1200 Lakeshore Drive, Harbor City, WI 54990",
        values="Care without judgment, whatever you can pay.",
        clients_served="Women and teens; sliding fee scale; Medicaid enrollment on site.",
        interests="Could run a monthly women's health education hour in Unit F and schedule "
        "the first appointment before release. Community health worker speaks Spanish.",
        people=(
            Person(
                "Dr. Priya Raman",
                "Medical director",
                "praman@harborwomenshealth.example",
            ),
            Person(
                "Jolene Baptiste",
                "Community health worker",
                "jbaptiste@harborwomenshealth.example",
                "(920) 555-0181",
            ),
        ),
        log=(
            Logged(
                A.CALL,
                81,
                14,
                "dana",
                "Introduced the jail's programs to Jolene Baptiste.",
                "Interested; the medical director must agree.",
                attendees=("Jolene Baptiste",),
            ),
            Logged(
                A.EMAIL,
                60,
                9,
                "dana",
                "Sent the visitor rules and three tour dates.",
                attendees=("Jolene Baptiste",),
            ),
            Logged(
                A.TOUR,
                18,
                13.5,
                "dana",
                "Tour of Unit F, Classroom 1 and the medical unit.",
                "Dr. Raman would like to train officers on pregnancy and postpartum needs.",
                "Send a cross-training proposal.",
                ("Dr. Priya Raman", "Jolene Baptiste", "dana", "tasha"),
                JAIL,
            ),
        ),
    ),
    "New Dawn Halfway House": Profile(
        history=(160, 151, 136, 110, 61),
        owner="dana",
        phone="(920) 555-0155",
        website="https://www.newdawnhouse.example",
        email="intake@newdawnhouse.example",
        address="845 Elm Street, Harbor City, WI 54990",
        values="A safe home, a plan and people who believe in you.",
        clients_served="Women 18 and over leaving jail or prison, with or without children; "
        "up to 14 beds, stays of 3 to 12 months.",
        interests="Their parenting program, Mothers in Transition, meets weekly at the house "
        "and helps mothers prepare for reunification. Intake interviews can happen in the "
        "visiting room 30 days before release.",
        people=(
            Person(
                "Sharon Whitaker",
                "Program director",
                "swhitaker@newdawnhouse.example",
                "(920) 555-0155",
            ),
            Person(
                "Keisha Brown",
                "Case manager",
                "kbrown@newdawnhouse.example",
                "(920) 555-0156",
            ),
            Person("Ellen Park", "Volunteer, Mothers in Transition facilitator"),
        ),
        log=(
            Logged(
                A.TOUR,
                110,
                10,
                "dana",
                "Tour of Unit F and the Community Corrections Center's women's dorm.",
                attendees=("Sharon Whitaker", "Keisha Brown", "dana", "sam"),
                facility=JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                61,
                14,
                "dana",
                "Keisha explained New Dawn's intake; officers explained classification, holds "
                "and release times.",
                "Release at 6:00 works if New Dawn is told the day before.",
                "Monthly check-in on the parenting program.",
                ("Sharon Whitaker", "Keisha Brown", "sam", "tasha"),
                JAIL,
            ),
            Logged(
                A.CALL,
                33,
                10,
                "dana",
                "Monthly check-in with Sharon about Mothers in Transition.",
                "Three women referred from Unit F are in the group.",
                attendees=("Sharon Whitaker",),
            ),
        ),
    ),
    "Peer Bridges Recovery Network": Profile(
        history=(76, 60, 9),
        owner="dana",
        phone="(920) 555-0165",
        website="https://www.peerbridges.example",
        email="connect@peerbridges.example",
        address="230 Second Street, Harbor City, WI 54990",
        values="Nothing about us without us.",
        clients_served="People in or seeking recovery from substance use, from 30 days before "
        "release to a year after.",
        interests="Medicaid pays for peer recovery support after release; specialists can start "
        "meeting women in the visiting room 30 days before.",
        people=(
            Person(
                "Marcus Hill",
                "Peer services director",
                "mhill@peerbridges.example",
                "(920) 555-0165",
            ),
            Person("Tanya Rowe", "Certified peer recovery specialist"),
        ),
        log=(
            Logged(
                A.CALL,
                9,
                15,
                "dana",
                "First call with Marcus Hill.",
                "Keen to meet women before release; Tanya spent time in our jail in 2019.",
                "Call back with tour dates.",
                ("Marcus Hill",),
            ),
            Logged(
                A.EMAIL,
                6,
                9.5,
                "dana",
                "Sent the visitor rules and the volunteer background check form.",
                attendees=("Marcus Hill",),
            ),
        ),
    ),
    "Harbor Pretrial Services": Profile(
        history=(390, 385, 378, 365, 350, 335, 325, 50),
        owner="dana",
        phone="(920) 555-0175",
        website="https://www.harborcounty.example/pretrial",
        address="Harbor County Justice Center, 410 Courthouse Drive, Harbor City, WI 54990",
        clients_served="Adults held before trial in the Harbor County Jail.",
        interests="Did release-planning interviews in the units on weekdays.",
        notes=(
            (
                S.PAUSED,
                "Pretrial unit reorganized after the county budget; paused until the new "
                "supervisor starts.",
            ),
        ),
        people=(Person("Angela Price", "Pretrial case specialist", phone="(920) 555-0176"),),
        log=(
            Logged(
                A.NOTE,
                50,
                16,
                "dana",
                "Angela says interviews stop at the end of the month until the new supervisor "
                "is hired.",
                attendees=("Angela Price",),
            ),
        ),
    ),
    "Literacy Volunteers of Harbor": Profile(
        history=(400, 398, 392, 380, 372, 362, 355, 95),
        owner="dana",
        phone="(920) 555-0185",
        website="https://www.literacyharbor.example",
        values="Reading opens doors.",
        clients_served="Adults reading below a sixth-grade level; GED candidates.",
        notes=(
            (
                S.ENDED,
                "Tutoring coordinator retired; their volunteers moved to the library's program.",
            ),
        ),
        people=(Person("Frank Morrison", "Former tutoring coordinator"),),
        log=(
            Logged(
                A.MEETING,
                96,
                10,
                "dana",
                "Closing meeting with Frank Morrison.",
                "Tutoring ends this month; the library may take it on.",
                attendees=("Frank Morrison", "dana"),
            ),
        ),
    ),
    "Goodwill Career Center": Profile(
        history=(30,),
        phone="(920) 555-0168",
        website="https://www.goodwillharbor.example",
        address="600 Commerce Avenue, Harbor City, WI 54990",
    ),
    "Harbor Legal Aid Society": Profile(
        history=(52, 36),
        owner="dana",
        phone="(920) 555-0195",
        website="https://www.harborlegalaid.example",
        email="intake@harborlegalaid.example",
        address="14 Main Street, 2nd floor, Harbor City, WI 54990",
        values="Equal justice for people who cannot pay for a lawyer.",
        clients_served="Households under 200% of the poverty line; civil matters only.",
        interests="Monthly record-expungement clinic; the family law unit helps with custody and "
        "child support orders, which women in Unit F ask about at every community meeting.",
        people=(Person("Samantha Ruiz", "Managing attorney", "sruiz@harborlegalaid.example"),),
    ),
    "Community Kitchen of Harbor": Profile(
        history=(10,),
        phone="(920) 555-0188",
        address="5 Dock Street, Harbor City, WI 54990",
    ),
}

# --- Lakes County ----------------------------------------------------------------------------

LAKES_STAFF = (StaffMember("chris", "chris.wells@lakes.example", "Capt. Chris Wells", Role.ADMIN),)

LAKES_JAIL = "Lakes County Jail"

LAKES_SITES = (
    Site(
        LAKES_JAIL,
        "85 Courthouse Square, Lakeview, WI 54980",
        140,
        units=(
            HousingUnit("Pod A", X.MALE, 56),
            HousingUnit("Pod B", X.MALE, 56),
            HousingUnit("Women's pod", X.FEMALE, 24, officers=("chris",)),
        ),
        rooms=(
            Room("Program room", L.CLASSROOM, 14),
            Room("Women's pod dayroom", L.DAYROOM, 24),
            Room("Visiting room", L.VISITING_ROOM, 12),
        ),
        rules=(
            (
                R.IDENTIFICATION,
                "Photo ID required. Program volunteers must be on the approved list held in "
                "Master Control; call (715) 555-0120 by noon the day before if a substitute "
                "facilitator is coming.",
            ),
            (
                R.PHONES,
                "No phones, smart watches or electronic devices inside the secure perimeter. "
                "Lockers are in the lobby.",
            ),
            (
                R.DRESS,
                "No orange or green clothing, no shorts, no sleeveless tops, no open-toe shoes. "
                "Staff may refuse entry for dress.",
            ),
            (
                R.EMERGENCY,
                "In an emergency the officer in the pod is in charge. Stay with your group and "
                "do exactly as the officer says until the all-clear.",
            ),
        ),
    ),
)

LAKES_PROFILES: dict[str, Profile] = {
    "Lakes Region Mental Health Center": Profile(
        history=(300, 296, 290, 270, 250, 230, 220),
        owner="chris",
        moved_by="chris",
        phone="(715) 555-0110",
        website="https://www.lakesmentalhealth.example",
        email="jailservices@lakesmentalhealth.example",
        address="300 Pine Street, Lakeview, WI 54980",
        clients_served="Residents of Lakes County of any age; sliding fee; Medicaid.",
        interests="Jail liaison counselor on site three mornings a week; crisis assessments "
        "around the clock.",
        people=(
            Person("Dr. Alan Brooks", "Clinical director", "abrooks@lakesmentalhealth.example"),
            Person(
                "Heather Lund",
                "Jail liaison counselor",
                "hlund@lakesmentalhealth.example",
                "(715) 555-0112",
            ),
        ),
        log=(
            Logged(
                A.MEETING,
                14,
                10,
                "chris",
                "Monthly review with the liaison counselor.",
                "Waiting list for counseling in the women's pod is down to two.",
                attendees=("Heather Lund", "chris"),
            ),
        ),
    ),
    "Lakes Recovery Community": Profile(
        history=(60, 45, 20),
        owner="chris",
        moved_by="chris",
        phone="(715) 555-0130",
        website="https://www.lakesrecovery.example",
        clients_served="Anyone in or seeking recovery; free.",
        people=(Person("Jim Sorensen", "Recovery coach", "jim@lakesrecovery.example"),),
        log=(
            Logged(
                A.CALL,
                20,
                13,
                "chris",
                "Introductory call with Jim Sorensen.",
                "They would like to run a recovery coaching group in the women's pod.",
                "Offer a tour.",
                ("Jim Sorensen",),
            ),
        ),
    ),
    "Bright Futures Family Services": Profile(
        history=(240, 236, 228, 210, 190, 170, 150),
        owner="chris",
        moved_by="chris",
        phone="(920) 555-0140",
        website="https://www.brightfutures.example",
        email="hello@brightfutures.example",
        address="19 River Road, Harbor City, WI 54990",
        values="Every child deserves a connected parent.",
        clients_served="Parents in the women's pod and their children's caregivers.",
        interests="Weekly Parenting Inside Out class in the program room, Tuesdays.",
        people=(
            Person(
                "Ana Flores",
                "Executive Director",
                "ana@brightfutures.example",
                "(920) 555-0140",
                login="ana@brightfutures.example",
            ),
            Person(
                "Maria Santos",
                "Parenting educator",
                "msantos@brightfutures.example",
                "(920) 555-0142",
            ),
            Person("Dave Kim", "Volunteer"),
        ),
        log=(
            Logged(
                A.TOUR,
                210,
                10,
                "chris",
                "Tour of the women's pod and the program room.",
                attendees=("Ana Flores", "Maria Santos", "chris"),
                facility=LAKES_JAIL,
            ),
            Logged(
                A.CROSS_TRAINING,
                190,
                14,
                "chris",
                "Parenting Inside Out overview for pod officers; officers covered count times "
                "and materials.",
                attendees=("Ana Flores", "Maria Santos", "chris"),
                facility=LAKES_JAIL,
            ),
            Logged(
                A.MEETING,
                27,
                11,
                "chris",
                "Monthly check-in on the parenting class.",
                "Nine mothers enrolled; two graduated last week.",
                attendees=("Ana Flores", "chris"),
            ),
        ),
    ),
    "St. Brigid Jail Ministry": Profile(
        history=(80, 70, 55, 13),
        owner="chris",
        moved_by="chris",
        phone="(715) 555-0125",
        email="jailministry@stbrigid.example",
        address="12 Church Hill, Lakeview, WI 54980",
        people=(
            Person("Sister Catherine Doyle", "Jail ministry coordinator", phone="(715) 555-0125"),
            Person("Fr. Michael Byrne", "Pastor"),
        ),
        log=(
            Logged(
                A.TOUR,
                13,
                10,
                "chris",
                "Tour of the program room and the women's pod.",
                "They would like a Sunday afternoon service.",
                "Call back about a Sunday slot.",
                ("Sister Catherine Doyle", "chris"),
                LAKES_JAIL,
            ),
        ),
    ),
    "Lakes County Probation": Profile(
        history=(420, 418, 415, 400, 390, 380, 375),
        owner="chris",
        moved_by="chris",
        phone="(715) 555-0170",
        website="https://www.lakescounty.example/probation",
        people=(Person("Paula Jensen", "Probation supervisor", "pjensen@lakescounty.example"),),
    ),
}


# --- loading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    where: str


def demo_logins_file(instance_path: str) -> Path:
    return Path(instance_path) / "demo-logins.json"


class _Calendar:
    """Wall-clock times of one zone, counted in days from today."""

    def __init__(self, timezone: str):
        self.zone = ZoneInfo(timezone)
        self.now = clock.now()
        self.today = self.now.astimezone(self.zone).date()

    def at(self, days: int, hour: float = 9) -> datetime:
        """`days` after today (negative: before) at `hour` local time, in UTC."""
        return self._utc(self.today + timedelta(days=days), hour)

    def workday(self, days: int, hour: float = 9) -> datetime:
        """Like `at`, moved to the weekday before (past) or after (future) a weekend."""
        day = self.today + timedelta(days=days)
        step = -1 if days < 0 else 1
        while day.weekday() >= 5:
            day += timedelta(days=step)
        return self._utc(day, hour)

    def later_today(self) -> datetime:
        """A time today that has not passed yet: 16:00, or just before midnight late at night."""
        soon = self.now + timedelta(hours=1)
        soon -= timedelta(
            minutes=soon.minute % 15, seconds=soon.second, microseconds=soon.microsecond
        )
        end = self._utc(self.today, 23 + 59 / 60)
        return min(max(self.at(0, 16), soon), end)

    def months_before(self, moment: datetime, months: int) -> datetime:
        """The same wall-clock time `months` earlier (what a monthly cadence counts back)."""
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        return (local - relativedelta(months=months)).replace(tzinfo=self.zone).astimezone(UTC)

    def _utc(self, day: date, hour: float) -> datetime:
        minutes = round(hour * 60)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return local.astimezone(UTC)


class _Loader:
    def __init__(self, logins: list[DemoLogin]):
        self.logins = logins

    def user(self, email: str, name: str):
        existing = find_user(email)
        if existing:
            return existing, next(x.password for x in self.logins if x.email == email)
        password = generate_password()
        return create_user(email, password, name=name), password


def _organizations(rows) -> dict[str, Organization]:
    made = {}
    for name, kind, stage, mission in rows:
        organization = Organization(name=name, kind=kind, stage=stage, mission=mission)
        db.session.add(organization)
        made[name] = organization
    db.session.flush()
    return made


def _facilities(sites: tuple[Site, ...], staff: dict) -> dict[str, Facility]:
    made = {}
    for site in sites:
        facility = Facility(
            name=site.name, address=site.address, timezone=TIMEZONE, capacity=site.capacity
        )
        db.session.add(facility)
        made[site.name] = facility
    db.session.flush()
    officers = []
    for site in sites:
        facility = made[site.name]
        for plan in site.units:
            unit = Unit(
                facility_id=facility.id, name=plan.name, sex=plan.sex, capacity=plan.capacity
            )
            db.session.add(unit)
            officers.append((unit, plan.officers))
        for room in site.rooms:
            db.session.add(
                Location(
                    facility_id=facility.id, name=room.name, kind=room.kind, capacity=room.capacity
                )
            )
        for topic, text in site.rules:
            db.session.add(FacilityRule(facility_id=facility.id, topic=topic, text=text))
    db.session.flush()
    for unit, keys in officers:
        for key in keys:
            db.session.add(UnitOfficer(unit_id=unit.id, membership_id=staff[key].id))
    db.session.flush()
    return made


def _profiles(
    organizations: dict[str, Organization],
    profiles: dict[str, Profile],
    staff: dict,
    facilities: dict[str, Facility],
    users: dict,
    calendar: _Calendar,
) -> None:
    """Fill in what the workspace knows of each organization: details, owner, the dated
    steps of its history, its people and its outreach log."""
    people: dict[tuple[str, str], Contact] = {}
    default_mover = next(key for key, m in staff.items() if m.role is Role.ADMIN)
    for name, profile in profiles.items():
        organization = organizations[name]
        steps = path_to(organization.stage)
        if len(profile.history) != len(steps) or list(profile.history) != sorted(
            profile.history, reverse=True
        ):
            raise ValueError(f"{name}: give one date per step of {[s.value for s in steps]}")
        for field in (
            "phone",
            "phone_alt",
            "website",
            "email",
            "address",
            "values",
            "clients_served",
            "interests",
        ):
            setattr(organization, field, getattr(profile, field))
        organization.owner_id = staff[profile.owner].id if profile.owner else None
        organization.created_at = calendar.at(-profile.history[0], 9)
        organization.updated_at = calendar.at(-profile.history[-1], 10)
        notes = dict(profile.notes)
        mover = staff[profile.moved_by or profile.owner or default_mover]
        previous = None
        for stage, days in zip(steps, profile.history, strict=True):
            db.session.add(
                StageChange(
                    organization_id=organization.id,
                    from_stage=previous,
                    to_stage=stage,
                    changed_at=calendar.at(-days, 10),
                    changed_by_id=mover.id,
                    note=notes.get(stage, ""),
                )
            )
            previous = stage
        for person in profile.people:
            contact = Contact(
                organization_id=organization.id,
                name=person.name,
                title=person.title,
                email=person.email,
                phone=person.phone,
                notes=person.notes,
                user_id=users[person.login].id if person.login else None,
            )
            db.session.add(contact)
            people[(name, person.name)] = contact
    db.session.flush()

    attendees = []
    for name, profile in profiles.items():
        organization = organizations[name]
        for entry in profile.log:
            activity = Activity(
                organization_id=organization.id,
                kind=entry.kind,
                occurred_at=calendar.at(-entry.days, entry.hour),
                author_id=staff[entry.author].id,
                facility_id=facilities[entry.facility].id if entry.facility else None,
                summary=entry.summary,
                outcome=entry.outcome,
                next_step=entry.next_step,
            )
            db.session.add(activity)
            attendees.append((activity, name, entry.attendees))
    db.session.flush()
    for activity, name, who in attendees:
        for key in who:
            if key in staff:
                db.session.add(
                    ActivityAttendee(activity_id=activity.id, membership_id=staff[key].id)
                )
            else:
                contact = people[(name, key)]
                db.session.add(ActivityAttendee(activity_id=activity.id, contact_id=contact.id))
    db.session.flush()


def _harbor_follow_ups(
    organizations: dict[str, Organization],
    facilities: dict[str, Facility],
    staff: dict,
    calendar: _Calendar,
) -> None:
    """Dana's list around today (two overdue, one today, several this week and later), one
    for Sam Owens, one about a facility; cadences on the recurring ones."""
    dana, sam = staff["dana"], staff["sam"]

    def about(name: str, title: str, due: datetime, who=dana, **more):
        subject_kind, subject = (
            ("facility", facilities[name])
            if name in facilities
            else ("organization", organizations[name])
        )
        return create_follow_up(
            subject_kind=subject_kind,
            subject_id=subject.public_id,
            title=title,
            assignee=who,
            due_at=due,
            created_by=dana,
            **more,
        )

    # Journey 7: the monthly check-in fell due on the last working day four days or more ago
    # and was not done; last month's was done on time. The cadence counts from the due time.
    check_in = "Monthly check-in with the parenting program"
    check_in_notes = "Mothers in Transition: referrals from Unit F, attendance, what they need."
    due = calendar.workday(-4, 10)
    previous = about(
        "New Dawn Halfway House",
        check_in,
        calendar.months_before(due, 1),
        cadence_rrule="FREQ=MONTHLY",
        notes=check_in_notes,
    )
    previous.status = FollowUpStatus.DONE
    previous.completed_at = previous.due_at + timedelta(minutes=25)
    previous.completion_note = "Called Sharon: three women from Unit F are in the group."
    db.session.flush()
    current = about(
        "New Dawn Halfway House",
        check_in,
        due,
        cadence_rrule="FREQ=MONTHLY",
        notes=check_in_notes,
    )
    current.previous_id = previous.id
    about(
        "Peer Bridges Recovery Network",
        "Call Marcus Hill back with tour dates",
        calendar.workday(-2, 11),
    )
    about(
        "Harbor Women's Health Clinic",
        "Send Dr. Raman the cross-training proposal",
        calendar.later_today(),
        notes="Pregnancy and postpartum needs, for Unit F and medical line officers.",
    )
    about(
        "First Methodist Prison Ministry",
        "Ask the chaplaincy for the Tuesday 13:30 chapel slot",
        calendar.workday(2, 9),
    )
    about(
        "Harbor Workforce Development Board",
        "Offer Gregory Sims a tour of the Community Corrections Center",
        calendar.workday(3, 10),
    )
    about(
        JAIL,
        "Post the updated dress code in the lobby and send it to every partner",
        calendar.workday(4, 9),
    )
    about(
        "Harbor Area AA/NA Intergroup",
        "Walk the new H&I volunteers through Unit F's classroom",
        calendar.workday(2, 18),
        who=sam,
    )
    about(
        "NAMI Harbor County",
        "Quarterly review of the Thursday support group",
        calendar.workday(12, 14),
        cadence_days=91,
    )
    about(
        "Harbor County Probation Department",
        "Monthly reentry staffing",
        calendar.workday(23, 9),
        cadence_rrule="FREQ=MONTHLY",
    )
    about(
        "Safe Harbor Rape Crisis Center",
        "Start the MOU renewal talk with Rebecca Lindqvist",
        calendar.workday(40, 10),
        notes="The MOU runs a year from signing; renewal notice 60 days ahead.",
    )


def _lakes_follow_ups(organizations: dict[str, Organization], staff: dict, calendar) -> None:
    chris = staff["chris"]
    for name, title, due, cadence in (
        (
            "St. Brigid Jail Ministry",
            "Call Sister Catherine about a Sunday slot",
            calendar.workday(-1, 10),
            None,
        ),
        (
            "Bright Futures Family Services",
            "Monthly check-in on the parenting class",
            calendar.workday(3, 11),
            "FREQ=MONTHLY",
        ),
        (
            "Lakes Recovery Community",
            "Offer Jim Sorensen a tour",
            calendar.workday(6, 13),
            None,
        ),
    ):
        create_follow_up(
            subject_kind="organization",
            subject_id=organizations[name].public_id,
            title=title,
            assignee=chris,
            due_at=due,
            cadence_rrule=cadence,
            created_by=chris,
        )


def load_demo() -> list[DemoLogin]:
    """Create the demo workspaces, facilities, organizations, people, history and follow-ups;
    the caller commits."""
    harbor = create_workspace(HARBOR, TIMEZONE)
    lakes = create_workspace(LAKES, TIMEZONE)
    logins: list[DemoLogin] = []
    loader = _Loader(logins)
    calendar = _Calendar(TIMEZONE)

    with workspace_context(harbor.id):
        orgs = _organizations(HARBOR_ORGANIZATIONS)
        staff = {}
        for member in HARBOR_STAFF:
            account, password = loader.user(member.email, member.name)
            staff[member.key] = add_membership(account, member.role)
            logins.append(DemoLogin(member.email, password, member.role.value, HARBOR))
        ana, password = loader.user("ana@brightfutures.example", "Ana Flores")
        add_membership(ana, Role.PARTNER, orgs["Bright Futures Family Services"].id)
        logins.append(DemoLogin(ana.email, password, "partner", f"{HARBOR} and {LAKES}"))
        users = {ana.email: ana}
        facilities = _facilities(HARBOR_SITES, staff)
        _profiles(orgs, HARBOR_PROFILES, staff, facilities, users, calendar)
        _harbor_follow_ups(orgs, facilities, staff, calendar)

    with workspace_context(lakes.id):
        orgs = _organizations(LAKES_ORGANIZATIONS)
        staff = {}
        for member in LAKES_STAFF:
            account, password = loader.user(member.email, member.name)
            staff[member.key] = add_membership(account, member.role)
            logins.append(DemoLogin(member.email, password, member.role.value, LAKES))
        add_membership(ana, Role.PARTNER, orgs["Bright Futures Family Services"].id)
        facilities = _facilities(LAKES_SITES, staff)
        _profiles(orgs, LAKES_PROFILES, staff, facilities, users, calendar)
        _lakes_follow_ups(orgs, staff, calendar)
    return logins


def demo_is_loaded() -> bool:
    """The demo's workspaces are in this database (its logins file may be another's)."""
    from crm.workspaces.services import find_workspace, slugify

    return all(find_workspace(slugify(name)) for name in (HARBOR, LAKES))


def save_logins(instance_path: str, logins: list[DemoLogin]) -> None:
    path = demo_logins_file(instance_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([login.__dict__ for login in logins], handle, indent=2)


def read_logins(instance_path: str) -> list[DemoLogin]:
    path = demo_logins_file(instance_path)
    if not path.exists():
        return []
    return [DemoLogin(**row) for row in json.loads(path.read_text())]
