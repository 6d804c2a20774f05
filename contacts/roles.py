"""The module × role matrix: the one place that decides who sees and does what.

Navigation, views (through portal.access) and tests all read these tables.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    FINANCE = "finance", _("Finance")
    TECHNICAL = "technical", _("Technical")
    EXECUTIVE = "executive", _("Executive")


class Module(models.TextChoices):
    DASHBOARD = "dashboard", _("Dashboard")
    INVOICES = "invoices", _("Invoices")
    BILLING = "billing", _("Billing profile")
    ORDERS = "orders", _("Orders")
    CONTRACTS = "contracts", _("Contracts")
    PLANS = "plans", _("Plans")
    REWARDS = "rewards", _("Rewards")
    USERS = "users", _("Users")
    ACTIVITY = "activity", _("Activity")


class Action(models.TextChoices):
    """Things that change state or move money, beyond reading a module."""

    PAY = "pay", _("Pay and manage payment methods")
    REDEEM = "redeem", _("Redeem rewards")
    REQUEST = "request", _("Raise contract requests")
    MANAGE_USERS = "manage_users", _("Invite and manage users")


F, T, E = Role.FINANCE, Role.TECHNICAL, Role.EXECUTIVE
ADMIN = "admin"  # Not a role: the admin flag on a contact.

MODULE_ROLES: dict[Module, frozenset] = {
    Module.DASHBOARD: frozenset({F, T, E}),
    Module.INVOICES: frozenset({F, E}),
    Module.BILLING: frozenset({F, E}),
    Module.ORDERS: frozenset({T, E, F}),  # Finance sees the orders awaiting payment.
    Module.CONTRACTS: frozenset({F, T, E}),
    Module.PLANS: frozenset({F, T, E}),
    Module.REWARDS: frozenset({F, E}),
    Module.USERS: frozenset({ADMIN}),
    Module.ACTIVITY: frozenset({ADMIN}),
}

# Money moves only with the finance role; executives read it.
ACTION_ROLES: dict[Action, frozenset] = {
    Action.PAY: frozenset({F}),
    Action.REDEEM: frozenset({F}),
    Action.REQUEST: frozenset({F, T, E}),
    Action.MANAGE_USERS: frozenset({ADMIN}),
}

# Order of the navigation.
NAVIGATION: list[tuple[Module, str]] = [
    (Module.DASHBOARD, "home"),
    (Module.INVOICES, "invoices:list"),
    (Module.BILLING, "billing:overview"),
    (Module.ORDERS, "orders:list"),
    (Module.CONTRACTS, "contracts:list"),
    (Module.PLANS, "plans:list"),
    (Module.REWARDS, "rewards:list"),
    (Module.USERS, "contacts:users"),
    (Module.ACTIVITY, "contacts:activity"),
]


def grants(roles: set[str], is_admin: bool) -> frozenset:
    return frozenset(roles) | ({ADMIN} if is_admin else set())


def can_see(roles: set[str], is_admin: bool, module: Module) -> bool:
    return bool(MODULE_ROLES[module] & grants(roles, is_admin))


def can_do(roles: set[str], is_admin: bool, action: Action) -> bool:
    return bool(ACTION_ROLES[action] & grants(roles, is_admin))
