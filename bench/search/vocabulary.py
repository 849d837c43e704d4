"""The words of bench/search: an incident-desk vocabulary with a long tail.

About 300 common words of the trade (services, symptoms, parts) make most of every text;
behind them a tail of 30,000 made-up but pronounceable words, each rare, drawn with a
Zipf law (the word of rank r comes with weight 1/r), so a text has the few very common
words, the many rare ones and the occasional one-off a real incident has (a host name,
an error code). Deterministic for a seed.
"""

from __future__ import annotations

import itertools
import random

_COMMON_TEXT = """
disk full database slow timeout error latency vpn network router switch firewall dns
certificate expired login password reset account locked email outlook calendar printer
paper jam scanner laptop battery screen monitor keyboard mouse wifi connection dropped
packet loss high cpu memory leak swap kernel panic crash restart reboot deploy rollback
release build pipeline queue backlog consumer producer kafka redis cache miss hit ratio
postgres mysql replica lag primary failover backup restore snapshot volume storage bucket
permission denied forbidden unauthorized token session cookie browser page blank loading
spinner checkout payment card declined invoice billing order shipping inventory search
index query plan vacuum lock deadlock transaction commit retry throttle rate limit quota
exceeded api gateway proxy load balancer health check failing probe pod node cluster
kubernetes container image pull registry helm chart namespace ingress service mesh tls
handshake ssl cipher upgrade patch version mismatch dependency library config setting
flag feature toggle alert pager oncall escalation incident outage degraded partial
intermittent users customers office remote branch london lisbon berlin paris tokyo
datacenter region zone availability latency spike traffic surge ddos attack phishing
malware virus antivirus update windows linux macos mobile app ios android push
notification sms voice call bridge meeting teams slack chat message delivery delayed
bounce spam filter quarantine attachment large file share drive sync conflict vpn
client tunnel sso saml oauth identity provider directory ldap group policy license
expired renewal vendor support ticket hardware fan temperature power supply ups
generator cooling rack cable fiber cut isp provider bandwidth saturation jitter voip
codec audio video camera microphone headset driver firmware bios boot loop blue
"""
COMMON = _COMMON_TEXT.split()

_SYLLABLES = [
    "ka", "lo", "mi", "re", "tu", "zan", "vor", "pel", "qui", "dra", "sto", "fen", "gri",
    "hal", "jex", "mor", "nix", "pra", "sul", "tek", "wob", "yel", "zir", "bra", "cle",
]  # fmt: skip


def tail(n: int = 30_000) -> list[str]:
    """`n` made-up words of two or three syllables, each distinct."""
    words: list[str] = []
    for size in (2, 3, 4):
        for parts in itertools.product(_SYLLABLES, repeat=size):
            words.append("".join(parts))
    rng = random.Random(5)
    rng.shuffle(words)
    return words[:n]


def vocabulary() -> list[str]:
    """Every word, most common first (its rank is its place here)."""
    seen = dict.fromkeys(COMMON)
    return list(seen) + [w for w in tail() if w not in seen]


class Words:
    """A stream of words drawn with the Zipf law over `vocabulary()`."""

    def __init__(self, seed: int, pool: int = 3_000_000) -> None:
        self.words = vocabulary()
        weights = [1.0 / (rank + 1) for rank in range(len(self.words))]
        self.rng = random.Random(seed)
        self.pool = self.rng.choices(self.words, weights=weights, k=pool)

    def take(self, n: int) -> list[str]:
        """`n` words: a window of the drawn pool at a random place."""
        at = self.rng.randrange(0, len(self.pool) - n)
        return self.pool[at : at + n]

    def text(self, low: int, high: int) -> str:
        return " ".join(self.take(self.rng.randint(low, high)))

    def rare(self) -> str:
        """A word from the tail (rank over 3,000): one text in thousands holds it."""
        return self.words[self.rng.randrange(3000, len(self.words))]

    def common(self) -> str:
        return self.words[self.rng.randrange(0, 100)]
