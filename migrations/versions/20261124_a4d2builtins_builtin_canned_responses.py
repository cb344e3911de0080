"""built-in canned responses and appointment destinations (data)

Revision ID: a4d2builtins
Revises: a4d1moderation
Create Date: 2026-11-24 07:50:00

Installs the five standard answers every Kindred community starts with, under stable keys
(so later upgrades can find them even after moderators reword them), and the two default
appointment links they refer to. The addresses are placeholders an administrator changes on
/admin/appointments. Imports no application code: the tables are described here as they are
at this revision.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "a4d2builtins"
down_revision: str | None = "a4d1moderation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


appointment_destinations = sa.table(
    "appointment_destinations",
    sa.column("key", sa.String),
    sa.column("name", sa.String),
    sa.column("url", sa.String),
    sa.column("description", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)

canned_responses = sa.table(
    "canned_responses",
    sa.column("key", sa.String),
    sa.column("title", sa.String),
    sa.column("category", sa.String),
    sa.column("body_md", sa.Text),
    sa.column("created_by_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("retired_at", sa.DateTime(timezone=True)),
    sa.column("usage_count", sa.Integer),
)

DESTINATIONS = [
    {
        "key": "request",
        "name": "Request an appointment",
        "url": "https://www.mayoclinic.org/appointments",
        "description": "The hospital's appointment request form, for new and returning "
        "patients (in person, video or phone visits).",
    },
    {
        "key": "international",
        "name": "International patients",
        "url": "https://www.mayoclinic.org/patient-visitor-guide/international-services",
        "description": "Help for patients who live outside the country: requesting an "
        "appointment, travel, interpreters and costs.",
    },
]

NOT_MEDICAL_PROFESSIONALS = """\
Hi {member},

Thank you for sharing this with us. It is clear how much you care, and you are welcome here.

Please know that the members of {group} are patients and caregivers, not medical \
professionals. That means we can't diagnose what is happening, interpret test results or \
scans, or tell you which treatment is right. Only a doctor or nurse who knows the whole \
history can do that safely.

What we can do is listen, share what we have lived through, and help you prepare questions \
for your care team. If something feels urgent or is getting worse, please contact your doctor \
or your local emergency services right away.

Warm wishes,
{moderator}
"""

REQUEST_APPOINTMENT = """\
Hi {member},

If you would like the opinion of one of our specialists, you can ask for an appointment \
here: {appointment:request}

The appointment team reviews every request and will contact you about next steps, \
including whether a video or phone visit could be a good first step for you. Please don't \
post your phone number, medical record number or other personal details in the discussion: \
the request form is the safe place for them.

In the meantime, the members of {group} are glad to keep you company.

{moderator}
"""

INTERNATIONAL_PATIENTS = """\
Hi {member},

Thank you for asking: many members of our community live in other countries, so you are not \
alone in this.

Living abroad does not stop you from requesting an appointment. Our international patient \
services team helps people from other countries request an appointment, plan their travel, \
arrange an interpreter and understand the costs before they travel. You can reach them \
here: {appointment:international}

They will tell you what is possible in your situation. Please send personal details, such \
as your phone number or medical records, only through their form, not in the discussion.

{moderator}
"""

WELCOME = """\
Welcome to {group}, {member}!

We're glad you found us. This is a place where patients and caregivers share experiences, \
questions and encouragement. A few things that help:

- **Share what you are comfortable with.** Please leave out your full name, phone number, \
address and record numbers.
- **Members are not medical professionals.** We share what we have lived through; decisions \
about your care belong with your care team.
- **Mention someone** by typing @ and their username, and follow a discussion to hear about \
new replies.

If you have a question, just ask. Someone who has been there will usually answer.

{moderator}
"""

CRISIS_RESOURCES = """\
{member}, I'm so sorry you are going through this, and I'm glad you told us.

**If you are in danger, thinking about harming yourself, or having a medical emergency \
(such as chest pain, trouble breathing or signs of a stroke), please call your local \
emergency number now** (911 in the US and Canada, 112 in the European Union, 999 in the UK) \
or go to the nearest emergency department.

If you are thinking about suicide or feel you can't keep yourself safe, please contact a \
crisis line right away. In the US, call or text **988** (Suicide & Crisis Lifeline). In the \
UK and Ireland, call Samaritans on **116 123**. Elsewhere, your local emergency number can \
connect you with help, and https://findahelpline.com lists free, confidential helplines by \
country.

You don't have to face this alone. When you are safe, we are here to listen, and a moderator \
will keep an eye on this discussion.

{moderator}
"""

CANNED = [
    {
        "key": "not-medical-professionals",
        "title": "We are not medical professionals",
        "category": "Community guidelines",
        "body_md": NOT_MEDICAL_PROFESSIONALS,
    },
    {
        "key": "request-appointment",
        "title": "Request an appointment",
        "category": "Appointments",
        "body_md": REQUEST_APPOINTMENT,
    },
    {
        "key": "international-patients",
        "title": "International patients",
        "category": "Appointments",
        "body_md": INTERNATIONAL_PATIENTS,
    },
    {
        "key": "welcome",
        "title": "Welcome to the community",
        "category": "Welcome",
        "body_md": WELCOME,
    },
    {
        "key": "crisis-resources",
        "title": "Crisis resources",
        "category": "Safety",
        "body_md": CRISIS_RESOURCES,
    },
]


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(
        appointment_destinations,
        [{**row, "created_at": now, "updated_at": now} for row in DESTINATIONS],
    )
    op.bulk_insert(
        canned_responses,
        [
            {
                **row,
                "created_by_id": None,
                "created_at": now,
                "updated_at": now,
                "retired_at": None,
                "usage_count": 0,
            }
            for row in CANNED
        ],
    )


def downgrade() -> None:
    op.execute(
        canned_responses.delete().where(canned_responses.c.key.in_([row["key"] for row in CANNED]))
    )
    op.execute(
        appointment_destinations.delete().where(
            appointment_destinations.c.key.in_([row["key"] for row in DESTINATIONS])
        )
    )
