"""Every id Slack hands back to Dailies — button and menu action ids, modal and shortcut callback ids — in one
place, used by the Block Kit builders that set them and the listeners that register for them."""

from __future__ import annotations

from enum import StrEnum


class SlackId(StrEnum):
    # buttons and menus on a take's card
    REROLL = "reroll"
    MORE_LIKE_THIS = "more_like_this"
    SEND_TO_SOUND = "send_to_sound"
    MASTER_FOR = "master_for"
    NEW_SOUND = "new_sound"
    # a request held by a limit
    APPROVE = "approve_request"
    # a sound ticket
    TICKET_CLAIM = "ticket_claim"
    TICKET_DELIVER = "ticket_deliver"
    TICKET_RETURN = "ticket_return"
    TICKET_CANCEL = "ticket_cancel"
    TICKET_ACCEPT = "ticket_accept"
    TICKET_TAKE_OVER = "ticket_take_over"
    # modals and the message shortcut
    BRIEF_MODAL = "brief_modal"
    BRIEF_MODEL = "brief_model"
    BRIEF_DURATION = "brief_duration"
    TICKET_RETURN_MODAL = "ticket_return_modal"
    NEW_SOUND_MODAL = "new_sound_modal"
    MAKE_TAKES = "make_takes"
