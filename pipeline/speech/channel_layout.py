"""Settle a call's channel layout once it is transcribed: a stereo call where one side said
nothing while the other spoke has a *silent* side (``silent_agent`` / ``silent_customer``).

Such a call usually holds both voices on the one channel that speaks (a recorder mixing down, or
a dead agent headset). Its segments are not kept as one speaker's: they become ``unknown``, as in
a mono call, so the measures and the scorecard never read it as a call where the agent (or the
customer) said nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from pipeline.intake.audio import ChannelLayout
from pipeline.speech.segments import Segment


def settle_layout(layout: ChannelLayout, segments: Sequence[Segment]) -> tuple[ChannelLayout, tuple[Segment, ...]]:
    """The call's layout and segments: a stereo call with segments from one side only is
    ``silent_<other side>``, its segments relabelled ``unknown``; any other call as it is."""
    speakers = {segment.speaker for segment in segments}
    if layout != "stereo" or not segments or speakers == {"agent", "customer"}:
        return layout, tuple(segments)
    silent: ChannelLayout = "silent_agent" if "agent" not in speakers else "silent_customer"
    return silent, tuple(replace(segment, speaker="unknown") for segment in segments)
