"""Whether a text is an instruction aimed at an agent: a small clause grammar.

A poisoned note commands the agent that will read it. In text this is a
clause with two parts: who is addressed (the assistant, the model, "you"
as an agent, a system header) and what is demanded, of a kind an honest note
about someone's life does not demand: override other memories or rules,
answer only a given thing, conceal the note itself, delete memories, send data
to an address, play another role, reveal hidden instructions. The grammar is
verb class x object class x addressee, each a closed word class; a directive
is found per sentence (never averaged over a note, so a long harmless
paragraph does not dilute one), and an address anywhere in the note (a header
such as "NOTE TO THE ASSISTANT:") makes every directive in it addressed.

Every pattern runs in linear time: each starts at a word boundary on a closed
word, and every repetition in it is bounded.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

# --- word classes -------------------------------------------------------------------------

AGENT = (
    r"(?:ai|a\.i\.|assistants?|agents?|models?|llms?|chat\s?bots?|bots?|gpt|chatgpt|claude|"
    r"copilot|language\s{1,5}models?|memory\s{1,5}(?:agents?|systems?|assistants?)|"
    r"retrieval\s{1,5}systems?)"
)
# a word or two between a verb and its object: "ignore [every other] memory"
GAP = r"(?:[\w'’-]{1,25}[\s,]{1,3}){0,4}?"
GAP_LONG = r"(?:[^\s.!?]{1,25}[\s,]{1,3}){0,8}?"
MEMORY_NOUN = (
    r"(?:instructions?|memor(?:y|ies)|notes?|messages?|context|rules|prompts?|directions|"
    r"data|text|input|content|documents?|conversation|identity|"
    r"guidelines|information|records?|entries|facts|sources|programming|training|polic(?:y|ies)|"
    r"constraints|restrictions|safeguards|filters|guardrails|content\s{1,5}policy|directives?|"
    r"everything\s{1,5}else|anything\s{1,5}else|all\s{1,5}else|what\s{1,5}(?:you|the\s{1,5}\w{1,15})\s{1,5}"
    r"(?:know|remember|stored?|says?|said|were\s{1,5}told))\b"
)
# qualifiers that point an object at other memories or at the agent's own rules
OTHER = (
    r"(?:other|previous|prior|earlier|above|preceding|existing|original|conflicting|remaining|"
    r"rest\s{1,5}of\s{1,5}(?:this|the|these)|old|initial|"
    r"related|stored|all|any|every|your|system|initial|following|older|contradicting|"
    r"contrary|opposing)"
)
SELF = r"(?:this|these|the)\s{1,5}(?:note|memory|message|instructions?|directive|entry|record|text|" \
       r"override|rule|reminder|request|command)s?\b"
SECRET = (
    r"(?:passwords?|passcodes?|credentials|api\s{1,5}keys?|ssh\s{1,5}keys?|private\s{1,5}keys?|tokens|"
    r"credit\s{1,5}card(?:\s{1,5}numbers?)?|social\s{1,5}security(?:\s{1,5}numbers?)?|seed\s{1,5}phrases?|"
    r"2fa\s{1,5}codes?|one-time\s{1,5}codes?|login\s{1,5}details|pin\s{1,5}(?:codes?|numbers?))"
)
EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,6}"
URL = r"\b(?:https?|ftp)://[^\s<>\"']{1,300}|\bwww\.[^\s<>\"']{1,300}"
IP = r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"
ADDRESS = rf"(?:{EMAIL}|{URL}|{IP}|(?:the\s{{1,5}})?(?:following|this)\s{{1,5}}(?:address|url|link|server|" \
          rf"endpoint|webhook|email))"
NEG = r"(?:do\s{1,5}not|don['’]t|never|must\s{1,5}not|mustn['’]t|should\s{1,5}not|shouldn['’]t|without)"
REPLY = (
    r"(?:answer|reply|respond|say|state|claim|print|output|write|type|repeat|insist|confirm|"
    r"deny|tell\s{1,5}(?:them|the\s{1,5}user|users|anyone|everyone|people|whoever))"
)
NOT_ME = r"(?<!\bi\s)(?<!\bwe\s)(?<!\bthey\s)(?<!\bhe\s)(?<!\bshe\s)"
ASKERS = r"(?:(?:the|a|any)\s{1,5}user|users|user|anyone|anybody|someone|somebody|people|you|they)"


@dataclass(frozen=True)
class Rule:
    """One clause shape: which signal it raises, its group (the strongest of a group
    counts), its weight, and whether it is the addressing part of a directive."""

    signal: str  # instruction | trigger
    group: str
    weight: float
    pattern: re.Pattern[str]
    address: bool = False
    # the rule can only match where one of these lower-case strings occurs: a text
    # without any is not scanned by it (most long texts skip most rules)
    anchors: tuple[str, ...] = ()


_ANCHOR_CLASSES = {
    "AGENT": ("ai", "a.i", "assistant", "agent", "model", "llm", "bot", "gpt", "claude",
              "copilot", "memory system", "retrieval"),
    "NEG": ("not", "n't", "n’t", "never", "without"),
}  # fmt: skip


def _rule(
    signal: str, group: str, weight: float, pattern: str, address: bool = False, anchors: str = ""
) -> Rule:
    words = [w for part in anchors.split("|") for w in _ANCHOR_CLASSES.get(part, (part,))]
    return Rule(signal, group, weight, re.compile(pattern, re.I), address, tuple(words))


ADDRESSED = 0.5  # addressed to an agent: flagged alone, quarantined with any directive
WEAK = 0.25  # a cue honest notes also show: below FLAG_AT even with an untrusted source
# Weights: a single blunt directive (override of other memories, concealment of the
# note, deletion of memories, exfiltration of memories, a jailbreak role) reaches the
# quarantine line (0.6) alone; an address plus even a weak directive does too;
# a forcing clause or a trigger alone stays below the flag line, so "Say hi to Ana"
# and "If it rains, take the bus" are accepted. Chosen on the project's own attack
# generator and the hand-written honest notes, not on the public payloads.
RULES: tuple[Rule, ...] = (
    # who is addressed
    _rule("instruction", "address", ADDRESSED,
          rf"\b(?:note|message|instructions?|reminder|memo|directive|notice|order|command|warning|"
          rf"update|override|alert)s?\s{{1,5}}(?:to|for)\s{{1,5}}(?:the\s{{1,5}}|any\s{{1,5}}|all\s{{1,5}}|every\s{{1,5}}|future\s{{1,5}})?"
          rf"(?:[\w-]{{1,20}}\s{{1,5}}){{0,2}}?{AGENT}\b", address=True, anchors="AGENT"),
    _rule("instruction", "address", ADDRESSED,
          rf"(?:^|[\n.!?]\s{{0,3}})(?:(?:dear|attention|hey|hi|hello|listen|important|psst)"
          rf"[\s,:!]{{1,3}})?(?:the\s{{1,5}})?{AGENT}\s{{0,2}}[,!]|\b(?:dear|attention|hey|hello|"
          rf"listen|psst)[\s,]{{1,3}}(?:the\s{{1,5}}|all\s{{1,5}}|any\s{{1,5}})?{AGENT}\s{{0,2}}:|"
          rf"\b{AGENT}\s{{1,5}}(?:\w{{1,15}}\s{{1,5}})?(?:reading|processing|parsing|summari[sz]ing|seeing|"
          rf"retrieving|recalling)\s{{1,5}}(?:this|these|the\s{{1,5}}following)\b|\b(?:whoever|anyone|"
          rf"any\s{{1,5}}(?:one|system|program))\s{{1,5}}(?:who\s{{1,5}})?(?:reads|reading|processes|retrieves|"
          rf"finds)\s{{1,5}}this\b", address=True, anchors="AGENT|whoever|anyone|any one|any system|any program"),
    _rule("instruction", "address", ADDRESSED,
          rf"\b(?:the|an?|any|all|every|your|future)\s{{1,5}}(?:[\w-]{{1,20}}\s{{1,5}}){{0,2}}?{AGENT}\s{{1,5}}"
          r"(?:must|should|shall|will|has\s{1,5}to|have\s{1,5}to|needs?\s{1,5}to|is\s{1,5}to|are\s{1,5}to|may\s{1,5}not|"
          r"cannot|can['’]t|is\s{1,5}(?:required|instructed|expected)\s{1,5}to)\b", address=True, anchors="AGENT"),
    _rule("instruction", "address", ADDRESSED,
          r"\b(?:system|admin|administrator|developer|security|priority|maintenance)\s{1,5}"
          r"(?:override|prompt|message|instructions?|notice|update|directive|alert|mode|"
          r"command|note)s?\b|\bas\s{1,5}an?\s{1,5}(?:ai|assistant|language\s{1,5}model)\b|"
          r"\byou\s{1,5}are\s{1,5}(?:now\s{1,5})?(?:an?\s{1,5}|the\s{1,5})?(?:ai|assistant|language\s{1,5}model|"
          r"chat\s?bot|llm)\b", address=True, anchors="AGENT|system|admin|developer|security|priority|maintenance|language"),
    # what is demanded
    _rule("instruction", "override", 0.7,
          rf"\b(?:ignore|disregard|forget|override|overrule|bypass|discard|dismiss|set\s{{1,5}}aside|"
          rf"pay\s{{1,5}}no\s{{1,5}}attention\s{{1,5}}to|{NEG}\s{{1,5}}(?:trust|believe|rely\s{{1,5}}on|use|follow|consider))"
          rf"\s{{1,5}}{GAP}{OTHER}\s{{1,5}}{GAP}{MEMORY_NOUN}", anchors="ignore|disregard|forget|override|overrule|bypass|discard|dismiss|set aside|pay no attention|NEG"),
    _rule("instruction", "override", 0.6,
          r"\b(?:ignore|disregard|override|overrule|bypass|forget)\s{1,5}(?:(?:all|any|the|your|these|"
          r"those)\s{1,5}){0,2}(?:instructions|prompts?|rules|guidelines|programming|directives|"
          r"restrictions|safeguards|filters|guardrails)\b",
          anchors="ignore|disregard|override|overrule|bypass|forget"),
    _rule("instruction", "override", 0.45,
          rf"\b(?:ignore|disregard|override|overrule|bypass)\s{{1,5}}(?:all\s{{1,5}}|any\s{{1,5}}|the\s{{1,5}})?"
          rf"{MEMORY_NOUN}|\b(?:ignore|disregard)\s{{1,5}}(?:everything|anything|all)\b", anchors="ignore|disregard|override|overrule|bypass"),
    _rule("instruction", "override", 0.6,
          rf"\b{SELF}\s{{1,3}}(?:overrides|supersedes|takes\s{{1,5}}(?:priority|precedence)|"
          rf"is\s{{1,5}}the\s{{1,5}}only\s{{1,5}}(?:truth|correct|true|valid))|\btreat\s{{1,5}}(?:this|it)\s{{1,5}}as\s{{1,5}}"
          rf"(?:the\s{{1,5}})?(?:truth|only\s{{1,5}}(?:correct|true|valid)|authoritative|fact)|"
          rf"\bregardless\s{{1,5}}of\s{{1,5}}(?:what\s{{1,5}})?(?:any\s{{1,5}})?{OTHER}\s{{1,5}}{GAP}{MEMORY_NOUN}|"
          rf"\b(?:all|any|every|the)\s{{1,5}}(?:other|previous|older|earlier|existing|stored)\s{{1,5}}"
          rf"(?:memories|notes|records|entries)\s{{1,5}}{GAP}(?:are|is|were)\s{{1,5}}(?:\w{{1,15}}\s{{1,5}})?"
          rf"(?:wrong|false|outdated|fake|invalid|incorrect|lies|obsolete|mistaken)", anchors="overrides|supersedes|takes priority|takes precedence|the only|treat|regardless|memories|notes|records|entries"),
    _rule("instruction", "conceal", 0.6,
          rf"\b{NEG}\s{{1,5}}(?:\w{{1,15}}\s{{1,5}}){{0,2}}?(?:mention|reveal|disclose|tell|show|acknowledge|"
          rf"reference|cite|quote|admit|explain|discuss|bring\s{{1,5}}up|let\s{{1,5}}\w{{1,15}}\s{{1,5}}know)"
          rf"(?:ing)?\b\s{{0,5}}{GAP}(?:about\s{{1,5}})?(?:{SELF}|(?:that\s{{1,5}})?you\s{{1,5}}(?:were|have\s{{1,5}}been|"
          rf"are\s{{1,5}}being)\s{{1,5}}(?:told|instructed|asked|programmed)|(?:that\s{{1,5}})?this\s{{1,5}}"
          rf"(?:exists|was\s{{1,5}}(?:written|stored|added)))|\bkeep\s{{1,5}}{SELF}\s{{0,2}}"
          rf"(?:a\s{{1,5}})?(?:secret|hidden|confidential|private|between\s{{1,5}}us)|\b{SELF}\s{{1,5}}"
          rf"(?:is|must\s{{1,5}}(?:be|stay|remain))\s{{1,5}}(?:secret|hidden|confidential|invisible)", anchors="NEG|keep|secret|hidden|confidential|invisible"),
    _rule("instruction", "conceal", 0.3,
          rf"\b{NEG}\s{{1,5}}(?:tell|mention|reveal|disclose)\s{{1,5}}(?:this\s{{1,5}}|it\s{{1,5}}|that\s{{1,5}})?(?:to\s{{1,5}})?"
          rf"(?:the\s{{1,5}}user|users|the\s{{1,5}}human|the\s{{1,5}}owner|anyone)\b", anchors="NEG"),
    _rule("instruction", "forcing", WEAK,
          rf"{NOT_ME}\b(?:{REPLY})\s{{1,5}}(?:\w{{1,15}}\s{{1,5}}){{0,2}}?(?:only|just|exclusively|solely|"
          r"nothing\s{1,5}(?:but|except|else))\b|\b(?:only|just|simply|always)\s{1,5}(?:ever\s{1,5})?"
          rf"(?:answer|reply|respond|print|output)\b(?!\s{{1,5}}(?:the|my|your|his|her|their)\s{{1,5}}"
          r"(?:phone|door|calls?|texts?|emails?|messages?)|\s{1,5}(?:calls|texts|emails|messages|"
          r"in\s{1,5}\w{1,15}|within|by|to|from))|\b(?:answer|reply|respond)\s{1,5}"
          r"(?:\w{1,15}\s{1,5}){0,2}?with\s{1,5}(?:only\s{1,5}|just\s{1,5}|exactly\s{1,5})?[\"“'‘«]|"
          r"\b(?:answer|reply|respond)\s{1,5}(?:\w{1,15}\s{1,5}){0,2}?with\s{1,5}(?:only|nothing\s{1,5}but|"
          r"exactly)\b|\b(?:start|begin|end|prefix)\s{1,5}(?:your|each|every)\s{1,5}(?:answer|reply|"
          r"response|output)s?\s{1,5}with\b|\b(?:verbatim|word\s{1,5}for\s{1,5}word)\b|\bnothing\s{1,5}(?:else|more)\s{0,5}[.!]|"
          r"\b(?:and\s{1,5})?absolutely\s{1,5}nothing\s{1,5}else\b", anchors="answer|reply|respond|say|state|claim|print|output|write|type|repeat|insist|confirm|deny|tell|verbatim|word for word|nothing|start|begin|end|prefix"),
    _rule("instruction", "forcing", 0.35,
          rf"{NOT_ME}\b(?:answer|reply|respond|say|state|claim|insist|tell\s{{1,5}}\w{{1,15}}|"
          r"confirm|explain|report)\s{1,5}that\s{1,5}(?:\w{1,20}\s{1,5}){0,3}?(?:never|did\s{1,5}not|didn['’]t|was\s{1,5}not|"
          r"wasn['’]t|is\s{1,5}not|isn['’]t|has\s{1,5}not|hasn['’]t|had\s{1,5}not|no\s{1,5}one|nothing|none|"
          r"does\s{1,5}not|doesn['’]t|not\s{1,5}true|false|a\s{1,5}lie|made\s{1,5}up|never\s{1,5}happened)\b|"
          r"\b(?:the\s{1,5})?(?:(?:real|correct|true|right|only|official|actual)\s{1,5}){1,2}answers?\s{1,5}"
          r"(?:to|is|for|about|regarding|on)\b", anchors="answer|reply|respond|say|state|claim|insist|tell|confirm|explain|report"),
    _rule("instruction", "forcing", 0.25,
          rf"(?:^|[\n.!?:;]\s{{0,3}})(?:please\s{{1,5}}|now\s{{1,5}}|just\s{{1,5}}|then\s{{1,5}}|instead\s{{1,5}})?"
          rf"(?:say|print|output|respond|reply|answer|repeat|write|type)\s{{0,5}}:?\s{{0,5}}[\"“'‘«]", anchors="say|print|output|respond|reply|answer|repeat|write|type"),
    _rule("instruction", "forcing", 0.25,
          r"[,:;]\s{0,3}(?:then\s{1,5})?(?:you\s{1,5}(?:must|should|will)\s{1,5})?(?:just\s{1,5}|always\s{1,5}|"
          r"simply\s{1,5}|only\s{1,5})?(?:say|answer|reply|respond|claim|state|insist|tell\s{1,5}(?:them|"
          r"the\s{1,5}user|whoever|anyone|people))\b", anchors="say|answer|reply|respond|claim|state|insist|tell"),
    _rule("instruction", "delete", 0.6,
          rf"\b(?:delete|erase|remove|wipe|purge|destroy|overwrite|forget|discard)\s{{1,5}}"
          rf"{GAP}(?:{OTHER}|{SELF}|any\s{{1,5}}trace)\s{{1,5}}{GAP}(?:notes?|memor(?:y|ies)|records?|"
          rf"entries|history|logs?|evidence|mentions?|data|conversations?|messages?|"
          rf"[\w'’-]{{1,25}}\s{{1,5}}(?:stored|saved|kept|remembered))\b", anchors="delete|erase|remove|wipe|purge|destroy|overwrite|forget|discard"),
    _rule("instruction", "delete", 0.3,
          rf"\b(?:delete|erase|wipe|purge|destroy)\s{{1,5}}{GAP}(?:notes|memor(?:y|ies)|records|entries|"
          r"logs|database|data)\b", anchors="delete|erase|wipe|purge|destroy"),
    _rule("instruction", "exfil", 0.7,
          rf"\b(?:send|forward|e-?mail|transfer|upload|post|leak|exfiltrate|copy|transmit|"
          rf"share|report|sync|export)\s{{1,5}}{GAP_LONG}(?:memories|notes|conversations?|chat\s{{1,5}}"
          rf"(?:history|logs?)|history|contacts|files|data|everything|{SECRET})\b\s{{0,5}}"
          rf"{GAP_LONG}(?:to|at|with|via)\s{{1,5}}{ADDRESS}", anchors="send|forward|mail|transfer|upload|post|leak|exfiltrate|copy|transmit|share|report|sync|export"),
    _rule("instruction", "exfil", WEAK,
          rf"\b(?:send|forward|e-?mail|transfer|upload|post|leak|exfiltrate|copy|transmit)\s{{1,5}}"
          rf"{GAP_LONG}(?:to|at)\s{{1,5}}{ADDRESS}", anchors="send|forward|mail|transfer|upload|post|leak|exfiltrate|copy|transmit"),
    _rule("instruction", "jailbreak", 0.6,
          r"\b(?:developer|god|dan|jailbreak|unrestricted|unfiltered|uncensored|opposite|"
          r"evil|admin|debug|sudo)\s{1,5}mode\b|\bjailbr(?:eak|oken|eaking)\b|\bdo\s{1,5}anything\s{1,5}now\b|"
          r"\bstay\s{1,5}in\s{1,5}character\b|\b(?:no|without\s{1,5}(?:any\s{1,5})?)\s{0,5}(?:ethical|moral|"
          r"content)?\s{0,5}(?:restrictions|filters|censorship|limitations|guidelines|rules|"
          r"boundaries|safeguards)\s{1,5}(?:at\s{1,5}all\s{1,5})?(?:apply|whatsoever|of\s{1,5}any\s{1,5}kind)|"
          rf"\b(?:unfiltered|uncensored|unrestricted|amoral|unaligned)\s{{1,5}}(?:\w{{1,15}}\s{{1,5}})?"
          rf"(?:{AGENT}|responses?|answers?|version|persona|character)\b|"
          r"\bbroken\s{1,5}free\s{1,5}of\b|\bfree\s{1,5}from\s{1,5}(?:all\s{1,5}|any\s{1,5})?(?:restrictions|rules|"
          r"limitations|guidelines)\b", anchors="mode|jailbr|anything now|in character|restriction|filter|censorship|limitation|guideline|rules|boundaries|safeguard|unfiltered|uncensored|unrestricted|amoral|unaligned|broken free|free from"),
    _rule("instruction", "persona", 0.3,
          rf"\byou\s{{1,5}}(?:are|will\s{{1,5}}be)\s{{1,5}}(?:now|going\s{{1,5}}to|about\s{{1,5}}to)\s{{1,5}}(?:act|play|be|become|"
          rf"pretend|simulate|immerse|respond|answer)|\b(?:act|behave|respond)\s{{1,5}}as\s{{1,5}}(?:if\s{{1,5}}you\s{{1,5}}"
          rf"(?:were|are)\s{{1,5}})?(?:an?\s{{1,5}}|the\s{{1,5}})?(?:[\w-]{{1,20}}\s{{1,5}}){{0,2}}?{AGENT}\b|"
          r"\bpretend\s{1,5}(?:that\s{1,5})?you\s{1,5}(?:are|have|were|can)\b|\bfrom\s{1,5}now\s{1,5}on,?\s{1,5}"
          r"(?:you\b|always\b|never\b|answer|respond|reply|say\b|treat|only|the\s{1,5}(?:assistant|"
          r"ai|agent|model))|\bnew\s{1,5}(?:instructions|rules|persona|directive)s?\s{0,5}:", anchors="you|act|behave|respond|pretend|from now on|new "),
    _rule("instruction", "reveal", 0.6,
          r"\b(?:reveal|print|show|display|output|repeat|dump|leak|disclose|share|list|"
          r"spell[\s-]?check|translate|summari[sz]e|encode|recite|give\s{1,5}me|tell\s{1,5}me)\s{1,5}"
          r"(?:\w{1,20}\s{1,5}){0,4}?(?:system\s{1,5}(?:prompt|message|instructions?|configuration)|"
          r"(?:initial|original|hidden|previous|prior|above|secret|internal|starting|first|"
          r"pre-?prompt)\s{1,5}(?:prompt|instructions?|text|rules|configuration|directives?)|"
          r"your\s{1,5}(?:\w{1,15}\s{1,5})?(?:instructions|prompt|rules|guidelines|configuration|"
          r"programming|directives?)|(?:all\s{1,5})?(?:the\s{1,5})?(?:stored\s{1,5})?(?:memories|notes)\s{1,5}"
          r"(?:you\s{1,5}(?:have|hold|store|keep|know))|the\s{1,5}user['’]?s?\s{1,5}" + SECRET + r")", anchors="reveal|print|show|display|output|repeat|dump|leak|disclose|share|list|spell|translate|summari|encode|recite|give me|tell me"),
    _rule("instruction", "reveal", 0.45,
          r"\b(?:system\s{1,5}prompt|(?:initial|original|hidden|secret)\s{1,5}(?:prompt|instructions)|"
          r"your\s{1,5}(?:initial|original|hidden|secret|system)\s{1,5}(?:prompt|instructions|"
          r"configuration|message))\b", anchors="prompt|instruction|configuration|message"),
    _rule("instruction", "own_instructions", 0.45,
          r"\b(?:the\s{1,5})?(?:text|words|content|everything|conversation|instructions|rules|prompt)\s{1,5}"
          r"(?:above|before\s{1,5}this|so\s{1,5}far|you\s{1,5}(?:were|have\s{1,5}been)\s{1,5}(?:given|told|shown))|"
          r"\byou\s{1,5}(?:were|have\s{1,5}been)\s{1,5}(?:told|given|instructed|programmed)\s{1,5}(?:before|initially|"
          r"at\s{1,5}the\s{1,5}(?:start|beginning))|\b(?:i|you)\s{1,5}(?:was|were)\s{1,5}instructed\s{1,5}to\b|"
          r"\bmy\s{1,5}instructions\s{1,5}are\b|\bsystem_?prompt\b|\binitiali[sz]ation\s{1,5}(?:string|prompt|text)|"
          r"\bnot\s{1,5}supposed\s{1,5}to\s{1,5}(?:tell|say|reveal|share)",
          anchors="above|before|so far|told|given|instructed|programmed|shown|system|initiali|supposed"),
    _rule("instruction", "compliance", 0.35,
          r"\byou\s{1,5}(?:will|must|shall|are\s{1,5}going\s{1,5}to)\s{1,5}(?:now\s{1,5}|always\s{1,5}|only\s{1,5})?"
          r"(?:act|roleplay|role-play|impersonate|emulate|simulate|pretend|play\s{1,5}the\s{1,5}role)\b|"
          r"\b(?:respond|reply|answer)\s{1,5}as\s{1,5}(?:if\s{1,5}you\s{1,5}were\s{1,5})?[A-Z]|"
          r"\b(?:never|not|won['’]t|cannot|can['’]t|don['’]t|doesn['’]t|will\s{1,5}not)\s{1,5}(?:\w{1,15}\s{1,5})?refuse\b|"
          r"\bbreak\s{1,5}(?:out\s{1,5}of\s{1,5})?character\b|\byour\s{1,5}(?:responses|replies|outputs?|programming|"
          r"filters|content\s{1,5}polic(?:y|ies)|creators?|developers|knowledge\s{1,5}cut-?off)\b|"
          r"\bi\s{1,5}(?:want|need|would\s{1,5}like)\s{1,5}you\s{1,5}to\s{1,5}(?:act|pretend|roleplay|role-play|"
          r"simulate|impersonate|emulate|respond\s{1,5}as|answer\s{1,5}as)\b|"
          r"\b(?:hello|hi|hey|dear)\s{1,5}(?:chatgpt|gpt|ai|assistant|chatbot|bot|llm|model)\b",
          anchors="you|respond|reply|answer|refuse|character|hello|hi|hey|dear"),
    _rule("instruction", "command", 0.5,
          r"(?:^|[.!?:;]\s{0,3}|\b(?:please|always|then|you\s{1,5}(?:must|should))\s{1,5})"
          r"(?:run|execute)\s{1,5}(?:the\s{1,5}|this\s{1,5})?(?:following\s{1,5})?(?:shell\s{1,5}|bash\s{1,5}|terminal\s{1,5})?"
          r"(?:command|script|code|payload)s?\b", anchors="run|execute"),
    _rule("instruction", "shell", 0.6,
          r"\bcurl\s{1,5}(?:-\w{1,20}\s{1,5}){0,6}(?:https?://|[^\s|]{1,200}\s{0,3}\|)|"
          r"\bwget\s{1,5}(?:-\w{1,20}\s{1,5}){0,6}[^\s]{0,200}(?:https?://|\.\w{2,6})|"
          r"\brm\s{1,5}-(?:rf|fr)\b|\bsudo\s{1,5}\w|\bchmod\s{1,5}(?:\+x|777)|\bbase64\s{1,5}(?:-d|--decode)|"
          r"\|\s{0,3}(?:ba|z)?sh\b|\bpowershell\b|\bnc\s{1,5}-e\b", anchors="curl|wget|rm |sudo|chmod|base64|sh|powershell|nc "),
    _rule("instruction", "credentials", 0.45, rf"\b(?:the\s{{1,5}}user['’]?s?|users['’])\s{{1,5}}{SECRET}", anchors="user"),
    _rule("instruction", "credentials", WEAK,
          rf"\b(?:ask|asks|request|collect|give\s{{1,5}}me|send\s{{1,5}}me|provide|share|enter|type|"
          rf"tell\s{{1,5}}me)\s{{1,5}}(?:\w{{1,20}}\s{{1,5}}){{0,3}}?{SECRET}\b", anchors="password|passcode|credential|key|token|card|security|seed|2fa|code|login|pin"),
    # when it applies
    _rule("trigger", "conditional", 0.25,
          rf"\b(?:when(?:ever)?|if|every\s{{1,5}}time|each\s{{1,5}}time|any\s{{1,5}}time|anytime|once)\s{{1,5}}"
          rf"(?:{ASKERS}\s{{1,5}})?(?:is\s{{1,5}}|are\s{{1,5}}|gets?\s{{1,5}}|ever\s{{1,5}}|again\s{{1,5}}|later\s{{1,5}}){{0,2}}"
          r"(?:asks?|asked|questions?|questioned|queries|inquires?|wants?\s{1,5}to\s{1,5}know|searches|looks\s{1,5}up|"
          r"recalls?|mentions?|brings?\s{1,5}up)\b", anchors="when|if|every time|each time|any time|anytime|once"),
    _rule("trigger", "user_says", 0.45,
          r"\b(?:if|when|whenever)\s{1,5}(?:the|a)\s{1,5}user\s{1,5}(?:says|mentions|types|writes|uses|sends)\b", anchors="if|when"),
    _rule("trigger", "user_says", 0.2,
          r"\b(?:if|when|whenever)\s{1,5}(?:anyone|someone|somebody|a\s{1,5}person|people)\s{1,5}(?:says?|"
          r"mentions?|types?|writes?|uses\s{1,5}the\s{1,5}(?:word|phrase))\b", anchors="if|when"),
    _rule("trigger", "whenever", 0.25,
          r"\b(?:whenever|every\s{1,5}time|each\s{1,5}time)\s{1,5}(?:you|the\s{1,5}(?:assistant|ai|agent|model))"
          r"\s{1,5}(?:see|hear|read|encounter|get|receive|notice)s?\b", anchors="whenever|every time|each time"),
    _rule("trigger", "codeword_phrase", 0.45,
          r"\b(?:code\s?word|trigger\s{1,5}(?:word|phrase)|pass\s?phrase|activation\s{1,5}(?:word|phrase|"
          r"code))s?\b", anchors="code|trigger|pass|activation"),
    _rule("trigger", "codeword_phrase", 0.2, r"\b(?:magic|secret)\s{1,5}(?:word|phrase|code)s?\b", anchors="magic|secret"),
)  # fmt: skip

# Chat-template markup and role turns: a turn that starts the note ("Assistant: ...") is a
# chat export's; one that starts after another sentence is forged. Run on the whole text.
WHOLE_TEXT_RULES: tuple[Rule, ...] = (
    _rule("instruction", "role_turn", 0.3, r"^\s{0,3}\[?(?:system|developer)\]?\s{0,2}:",
          address=True, anchors="system|developer"),
    _rule("instruction", "role_turn", 0.5,
          r"<\|im_(?:start|end)\|>|\[/?INST\]|<</?SYS>>|(?:\n|[.!?\"]\s{1,3})\[?(?:system|"
          r"assistant|developer|ai)\]?\s{0,2}:\s", address=True, anchors="im_|inst]|sys>>|system|assistant|developer|ai"),
)  # fmt: skip

# A directive that only applies on a trigger ("when asked X, answer Y") is a planted
# command, not a preference: the pair counts for more than the two parts.
CONDITIONAL_DIRECTIVE = 0.6
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]{0,3}(?:\s{1,4}|$)|\n")


@dataclass(frozen=True)
class Cue:
    signal: str
    group: str
    weight: float
    quote: str
    sentence: int  # which sentence it was found in
    address: bool


def sentence_starts(text: str) -> list[int]:
    """Where each sentence begins: after . ! ? (and closing quotes) and a space, or a line end."""
    return [0, *(end.end() for end in _SENTENCE_END.finditer(text))]


def cues(text: str) -> list[Cue]:
    """Every rule that matches, once per (group, sentence), strongest first. Each rule
    scans the whole text once; a match belongs to the sentence it starts in."""
    starts = sentence_starts(text)
    lowered = text.lower()
    found: dict[tuple[str, int], Cue] = {}
    for rule in RULES:
        if not any(anchor in lowered for anchor in rule.anchors):
            continue
        for match in rule.pattern.finditer(text):
            index = bisect_right(starts, match.start()) - 1
            key = (rule.group, index)
            if key not in found or found[key].weight < rule.weight:
                found[key] = Cue(rule.signal, rule.group, rule.weight, match.group(0).strip(),
                                 index, rule.address)  # fmt: skip
    for (group, index), forcing in list(found.items()):
        if group == "forcing" and ("conditional", index) in found:
            found[group, index] = Cue("instruction", "forcing", CONDITIONAL_DIRECTIVE,
                                      forcing.quote, index, False)  # fmt: skip
    for rule in WHOLE_TEXT_RULES:
        match = rule.pattern.search(text) if any(a in lowered for a in rule.anchors) else None
        if match:
            found[rule.group, -1] = Cue(rule.signal, rule.group, rule.weight,
                                        match.group(0).strip(), -1, rule.address)  # fmt: skip
    return sorted(found.values(), key=lambda c: (-c.weight, c.sentence))
