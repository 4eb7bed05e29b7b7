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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from zettelmem.guard import languages

SPACE = r"\s{1,5}"  # a space in a pattern below stands for this

# --- word classes -------------------------------------------------------------------------

AGENT = (
    r"(?:ai|a\.i\.|assistants?|agents?|models?|llms?|chat\s?bots?|bots?|gpt|chatgpt|claude|"
    r"copilot|language models?|memory (?:agents?|systems?|assistants?)|"
    r"retrieval systems?)"
)
READER = (
    r"(?:(?:automated|automatic|ai|a\.i\.|llm|ai-powered|llm-based|ai-based)[\s-]{1,3}"
    r"(?:[\w-]{1,20} ){0,2}?(?:screen(?:er|ing)|reviewers?|graders?|judges?|scanners?|"
    r"detectors?|pipelines?|systems?|evaluators?|summari[sz]ers?|rankers?|raters?|"
    r"checkers?|moderators?|tools?|readers?|agents?)|(?:screening|grading|review|ranking|"
    r"hiring|moderation|security|fraud[ -]detection|answering|retrieval|rag) "
    r"(?:bots?|ai|models?|agents?|pipelines?|assistants?)|llm-as-(?:a-)?judge)"
)
READER_ANCHORS = (
    "automat|ai|a.i|llm|screen|grad|review|rank|hiring|moderat|security|fraud|"
    "answering|retrieval|rag|judge"
)
# a word or two between a verb and its object: "ignore [every other] memory"
GAP = r"(?:[\w'’-]{1,25}[\s,]{1,3}){0,4}?"
GAP_LONG = r"(?:[^\s.!?]{1,25}[\s,]{1,3}){0,8}?"
MEMORY_NOUN = (
    r"(?:instructions?|memor(?:y|ies)|notes?|messages?|context|rules|prompts?|directions|"
    r"data|text|input|content|documents?|conversation|identity|"
    r"guidelines|information|records?|entries|facts|sources|programming|training|polic(?:y|ies)|"
    r"constraints|restrictions|safeguards|filters|guardrails|content policy|directives?|"
    r"everything else|anything else|all else|what (?:you|the \w{1,15}) "
    r"(?:know|remember|stored?|says?|said|were told))\b"
)
# qualifiers that point an object at other memories or at the agent's own rules
OTHER = (
    r"(?:other|previous|prior|earlier|above|preceding|existing|original|conflicting|remaining|"
    r"rest of (?:this|the|these)|old|initial|"
    r"related|stored|all|any|every|your|system|initial|following|older|contradicting|"
    r"contrary|opposing)"
)
# One earlier note of the writer's own, the object of a correction.
OWN_NOTE = (
    r"my (?:earlier|previous|last|prior|old|other) (?:note|entry|message|memo|reminder)\b"
    r"(?:\s{1,3}(?:about|on|regarding|concerning|asking|for|from)\b|\s{0,3}(?:[,;:.!—–-]|$))"
)
SELF = (
    r"(?:this|these|the) (?:note|memory|message|instructions?|directive|entry|record|text|"
    r"override|rule|reminder|request|command)s?\b"
)
SECRET = (
    r"(?:passwords?|passcodes?|credentials|api keys?|ssh keys?|private keys?|tokens|"
    r"credit card(?: numbers?)?|social security(?: numbers?)?|seed phrases?|"
    r"2fa codes?|one-time codes?|login details|pin (?:codes?|numbers?))"
)
EMAIL = r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,6}"
URL = r"\b(?:https?|ftp)://[^\s<>\"']{1,300}|\bwww\.[^\s<>\"']{1,300}"
IP = r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"
ADDRESS = (
    rf"(?:{EMAIL}|{URL}|{IP}|(?:the )?(?:following|this) (?:address|url|link|server|"
    rf"endpoint|webhook|email))"
)
EXFIL_DATA = (
    r"(?:the |their |all |every )?(?:user['’]?s?|attendees['’]?|customers?['’]?s?|clients?['’]?s?)"
    r"\b|\b(?:the |this |our )?(?:conversation|chat|memories|memory|journal|summary|contents?|"
    r"passwords?|api keys?|credentials|\.env|id_rsa)\b"
)
HOSTLIKE = r"\b(?:webhooks?|s3://[^\s]{1,200}|[\w-]{1,63}\.[a-z]{2,12}/[^\s]{0,200})"
SAFETY = (
    r"(?:the |your |its |all )?(?:memory )?(?:guard|safety (?:checks?|filters?|features?|"
    r"settings?)|approval (?:prompts?|step|checks?)|confirmation (?:prompts?|dialogs?|step)|"
    r"antivirus|firewall|two-factor|2fa|mfa|security (?:checks?|warnings?|alerts?|"
    r"software)|content filters?|moderation|['‘\"]?ask before [\w ]{1,30})"
)
OWN_RULES = (
    r"(?:system|developer) (?:message|prompt|instructions)|(?:preceding|initial|hidden|"
    r"original|secret|starting) (?:instructions|prompt|rules)|(?:your|ur) (?:\w{1,15} )?"
    r"(?:instructions|rules|prompt|configuration)|tool (?:definitions|schemas?|descriptions)"
)
NEG = r"(?:do not|don['’]t|never|must not|mustn['’]t|should not|shouldn['’]t|without)"
REPLY = (
    r"(?:answer|reply|respond|say|state|claim|print|output|write|type|repeat|insist|confirm|"
    r"deny|tell (?:them|the user|users|anyone|everyone|people|whoever))"
)
NOT_ME = r"(?<!\bi\s)(?<!\bwe\s)(?<!\bthey\s)(?<!\bhe\s)(?<!\bshe\s)"
ASKERS = r"(?:(?:the|a|any) user|users|user|anyone|anybody|someone|somebody|people|you|they)"


@dataclass(frozen=True)
class Rule:
    """One clause shape: which signal it raises, its group (the strongest of a group
    counts), its weight, and whether it is the addressing part of a directive."""

    signal: str  # instruction | trigger
    group: str
    weight: float
    source: str  # the regular expression (case-insensitive), compiled on first use
    address: bool = False
    # the rule can only match where one of these lower-case strings occurs: a text
    # without any is not scanned by it (most long texts skip most rules)
    anchors: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.source)


@cache
def _compiled(source: str) -> re.Pattern[str]:
    # Compiling every rule takes about 0.1 s: a process that never judges a text (a recall
    # whose hits all carry their write-time verdict) never pays it.
    return re.compile(source, re.I)


_ANCHOR_CLASSES = {
    "AGENT": ("ai", "a.i", "assistant", "agent", "model", "llm", "bot", "gpt", "claude",
              "copilot", "memory system", "retrieval"),
    "NEG": ("not", "n't", "n’t", "never", "without"),
}  # fmt: skip


def _rule(
    signal: str, group: str, weight: float, pattern: str, address: bool = False, anchors: str = ""
) -> Rule:
    words = [w for part in anchors.split("|") for w in _ANCHOR_CLASSES.get(part, (part,))]
    return Rule(signal, group, weight, pattern.replace(" ", SPACE), address, tuple(words))


ADDRESSED = 0.5  # addressed to an agent: flagged alone, quarantined with any directive
# Setting aside or changing stored notes on a topic ("skip the March entries", "edit the
# note about ..."): people write this about their own notes too, so alone it stays
# below the flag line; addressed to an agent or with a forced answer it is held.
TOPIC = 0.3
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
          rf"update|override|alert)s? (?:to|for) (?:the |any |all |every |future )?"
          rf"(?:[\w-]{{1,20}} ){{0,2}}?{AGENT}\b", address=True, anchors="AGENT"),
    _rule("instruction", "address", ADDRESSED,
          rf"(?:^|[\n.!?]\s{{0,3}})(?:(?:dear|attention|attn|hey|hi|hello|listen(?: up)?|"
          rf"important|psst)[\s,:!.]{{1,3}})?(?:the )?{AGENT}\s{{0,2}}[,!-]|\b(?:dear|"
          rf"attention|attn|hey|hello|listen(?: up)?|psst)[\s,.:]{{1,3}}(?:the |all |any )?"
          rf"{AGENT}\s{{0,2}}:|"
          rf"\b{AGENT} (?:\w{{1,15}} )?(?:reading|processing|parsing|summari[sz]ing|seeing|"
          rf"retrieving|recalling) (?:this|these|the following)\b|\b(?:whoever|anyone|"
          rf"any (?:one|system|program)) (?:who )?(?:reads|reading|processes|retrieves|"
          rf"finds) this\b|\b(?:whichever|whatever|any|every) (?:[\w-]{{1,20}} )?{AGENT} "
          rf"(?:(?:that|which|who) )?(?:reads|is reading|processes|retrieves|finds|sees|"
          rf"loads) this\b", address=True, anchors="AGENT|whoever|anyone|any one|any system|"
          "any program"),
    _rule("instruction", "address", ADDRESSED,
          rf"\b(?:the|an?|any|all|every|your|future) (?:[\w-]{{1,20}} ){{0,2}}?{AGENT} "
          r"(?:must|should|shall|will|has to|have to|needs? to|is to|are to|may not|"
          r"cannot|can['’]t|is (?:required|instructed|"
          r"expected) to)\b", address=True, anchors="AGENT"),
    _rule("instruction", "address", ADDRESSED,
          rf"\b[\w-]{{2,20}} (?:to|for) (?:the |any |all |every |future |our |my )?{AGENT}"
          r"\s{0,2}[:;!-]", address=True, anchors="AGENT"),
    _rule("instruction", "address", ADDRESSED,
          r"\b(?:system|admin|administrator|developer|security|priority|maintenance) "
          r"(?:override|prompt|message|instructions?|notice|update|directive|alert|mode|"
          r"command|note)s?\b|\bas an? (?:ai|assistant|language model)\b|"
          r"\byou are (?:now )?(?:an? |the )?(?:ai|assistant|language model|"
          r"chat\s?bot|llm)\b", address=True, anchors="AGENT|system|admin|developer|security|"
          "priority|maintenance|language"),
    # what is demanded
    # (not a writer setting aside one note of their own: "Ignore my earlier note about the
    # blue paint; we chose green" is a correction, as "ignore my earlier notes" or "ignore
    # the other notes" is not)
    _rule("instruction", "override", 0.7,
          rf"\b(?:ignore|disregard|forget|override|overrule|bypass|discard|dismiss|set aside|"
          rf"pay no attention to|{NEG} (?:trust|believe|rely on|use|follow|consider))"
          rf" (?!{OWN_NOTE}){GAP}{OTHER} {GAP}{MEMORY_NOUN}",
          anchors="ignore|disregard|forget|override|overrule|bypass|discard|dismiss|set aside|"
          "pay no attention|NEG"),
    _rule("instruction", "override", 0.6,
          r"\b(?:ignore|disregard|override|overrule|bypass|forget) (?:(?:all|any|the|your|these|"
          r"those) ){0,2}(?:instructions|prompts?|rules|guidelines|programming|directives|"
          r"restrictions|safeguards|filters|guardrails)\b",
          anchors="ignore|disregard|override|overrule|bypass|forget"),
    _rule("instruction", "override", 0.45,
          rf"\b(?:ignore|disregard|override|overrule|bypass) (?:all |any |the )?"
          rf"{MEMORY_NOUN}|\b(?:ignore|disregard) (?:everything|anything|all)\b", anchors="ignore|"
          "disregard|override|overrule|bypass"),
    _rule("instruction", "override", 0.6,
          rf"\b{SELF}\s{{1,3}}(?:overrides|supersedes|takes (?:priority|precedence)|"
          rf"is the only (?:truth|correct|true|valid))|\btreat (?:this|it) as "
          rf"(?:the )?(?:truth|only (?:correct|true|valid)|authoritative|fact)|"
          rf"\bregardless of (?:what )?(?:any )?{OTHER} {GAP}{MEMORY_NOUN}|"
          rf"\b(?:all|any|every|the) (?:other|previous|older|earlier|existing|stored) "
          rf"(?:memories|notes|records|entries) {GAP}(?:are|is|were) (?:\w{{1,15}} )?"
          rf"(?:wrong|false|outdated|fake|invalid|incorrect|lies|obsolete|"
          rf"mistaken)", anchors="overrides|supersedes|takes priority|takes precedence|the only|"
          "treat|regardless|memories|notes|records|entries"),
    _rule("instruction", "conceal", 0.6,
          rf"\b{NEG} (?:\w{{1,15}} ){{0,2}}?(?:mention|reveal|disclose|tell|show|acknowledge|"
          rf"reference|cite|quote|admit|explain|discuss|bring up|let \w{{1,15}} know)"
          rf"(?:ing)?\b\s{{0,5}}{GAP}(?:about )?(?:{SELF}|(?:that )?you (?:were|have been|"
          rf"are being) (?:told|instructed|asked|programmed)|(?:that )?this "
          rf"(?:exists|was (?:written|stored|added)))|\bkeep {SELF}\s{{0,2}}"
          rf"(?:a )?(?:secret|hidden|confidential|private|between us)|\b{SELF} "
          rf"(?:is|must (?:be|stay|remain)) (?:secret|hidden|confidential|"
          rf"invisible)", anchors="NEG|keep|secret|hidden|confidential|invisible"),
    _rule("instruction", "conceal", 0.3,
          rf"\b{NEG} (?:tell|mention|reveal|disclose) (?:this |it |that )?(?:to )?"
          rf"(?:the user|users|the human|the owner|anyone)\b", anchors="NEG"),
    _rule("instruction", "forcing", WEAK,
          rf"{NOT_ME}\b(?:{REPLY}) (?:\w{{1,15}} ){{0,2}}?(?:only|just|exclusively|solely|"
          r"nothing (?:but|except|else))\b|\b(?:only|just|simply|always) (?:ever )?"
          rf"(?:answer|reply|respond|print|output)\b(?! (?:the|my|your|his|her|their) "
          r"(?:phone|door|calls?|texts?|emails?|messages?)| (?:calls|texts|emails|messages|"
          r"in \w{1,15}|within|by|to|from))|\b(?:answer|reply|respond) "
          r"(?:\w{1,15} ){0,2}?with (?:only |just |exactly )?[\"“'‘«]|"
          r"\b(?:answer|reply|respond) (?:\w{1,15} ){0,2}?with (?:only|nothing but|"
          r"exactly)\b|\b(?:start|begin|end|prefix) (?:your|each|every) (?:answer|reply|"
          r"response|output)s? with\b|\b(?:verbatim|word for word)\b|\bnothing (?:else|"
          r"more)\s{0,5}[.!]|"
          r"\b(?:and )?absolutely nothing else\b", anchors="answer|reply|respond|say|state|claim|"
          "print|output|write|type|repeat|insist|confirm|deny|tell|verbatim|word for word|"
          "nothing|start|begin|end|prefix"),
    _rule("instruction", "forcing", 0.35,
          rf"{NOT_ME}\b(?:answer|reply|respond|say|state|claim|insist|tell \w{{1,15}}|"
          r"confirm|explain|report) that (?:\w{1,20} ){0,3}?(?:never|did not|didn['’]t|was not|"
          r"wasn['’]t|is not|isn['’]t|has not|hasn['’]t|had not|no one|nothing|none|"
          r"does not|doesn['’]t|not true|false|a lie|made up|never happened)\b|"
          r"\b(?:the )?(?:(?:real|correct|true|right|only|official|actual) ){1,2}answers? "
          r"(?:to|is|for|about|regarding|on)\b", anchors="answer|reply|respond|say|state|claim|"
          "insist|tell|confirm|explain|report"),
    _rule("instruction", "forcing", 0.25,
          r"(?:^|[\n.!?:;]\s{0,3})(?:please |now |just |then |instead )?"
          r"(?:say|print|output|respond|reply|answer|repeat|write|"
          r"type)\s{0,5}:?\s{0,5}[\"“'‘«]", anchors="say|print|output|respond|reply|answer|"
          "repeat|write|type"),
    _rule("instruction", "forcing", 0.25,
          r"[,:;]\s{0,3}(?:then )?(?:you (?:must|should|will) )?(?:just |always |"
          r"simply |only )?(?:say|answer|reply|respond|claim|state|insist|tell (?:them|"
          r"the user|whoever|anyone|people))\b", anchors="say|answer|reply|respond|claim|state|"
          "insist|tell"),
    # Bare dismissals and a fixed answer: people write these too ("just ignore it", "the
    # answer to the riddle is a piano"), so alone they stay below the flag line; addressed
    # to an agent they are held.
    _rule("instruction", "dismiss", WEAK,
          r"\b(?:ignore|disregard|discard|dismiss) (?:them|it|those|these|that|this)\b|"
          r"\b(?:must|should|shall|are to|is to|have to|has to|need to) be (?:disregarded|"
          r"ignored|discarded|dismissed|forgotten|deleted|removed|overwritten|purged)\b",
          anchors="ignore|disregard|discard|dismiss|forgotten|deleted|removed|overwritten|"
          "purged"),
    _rule("instruction", "forcing", WEAK,
          r"\bthe answer (?:to|for|about|on) [^.!?\n]{1,80}? (?:is|was|=)\b", anchors="answer"),
    _rule("instruction", "delete", 0.6,
          rf"\b(?:delete|erase|remove|wipe|purge|destroy|overwrite|forget|discard) "
          rf"(?!{OWN_NOTE}){GAP}(?:{OTHER}|{SELF}|any trace) {GAP}(?:notes?|memor(?:y|ies)|"
          rf"records?|entries|history|logs?|evidence|mentions?|data|conversations?|messages?|"
          rf"[\w'’-]{{1,25}} (?:stored|saved|kept|remembered))\b", anchors="delete|erase|remove|"
          "wipe|purge|destroy|overwrite|forget|discard"),
    _rule("instruction", "delete", 0.3,
          rf"\b(?:delete|erase|wipe|purge|destroy) {GAP}(?:notes|memor(?:y|ies)|records|entries|"
          r"logs|database|data)\b", anchors="delete|erase|wipe|purge|destroy"),
    _rule("instruction", "exfil", 0.7,
          rf"\b(?:send|forward|e-?mail|transfer|upload|post|leak|exfiltrate|copy|transmit|"
          rf"share|report|sync|export) {GAP_LONG}(?:memories|notes|conversations?|chat "
          rf"(?:history|logs?)|history|contacts|files|data|everything|{SECRET})\b\s{{0,5}}"
          rf"{GAP_LONG}(?:to|at|with|via) {ADDRESS}", anchors="send|forward|mail|transfer|upload|"
          "post|leak|exfiltrate|copy|transmit|share|report|sync|export"),
    _rule("instruction", "exfil", WEAK,
          rf"\b(?:send|forward|e-?mail|transfer|upload|post|leak|exfiltrate|copy|transmit) "
          rf"{GAP_LONG}(?:to|at) {ADDRESS}", anchors="send|forward|mail|transfer|upload|post|leak|"
          "exfiltrate|copy|transmit"),
    _rule("instruction", "jailbreak", 0.6,
          r"\b(?:developer|god|dan|jailbreak|unrestricted|unfiltered|uncensored|opposite|"
          r"evil|admin|debug|sudo) mode\b|\bjailbr(?:eak|oken|eaking)\b|\bdo anything now\b|"
          r"\bstay in character\b|\b(?:no|without (?:any )?)\s{0,5}(?:ethical|moral|"
          r"content)?\s{0,5}(?:restrictions|filters|censorship|limitations|guidelines|rules|"
          r"boundaries|safeguards) (?:at all )?(?:apply|whatsoever|of any kind)|"
          rf"\b(?:unfiltered|uncensored|unrestricted|amoral|unaligned) (?:\w{{1,15}} )?"
          rf"(?:{AGENT}|responses?|answers?|version|persona|character)\b|"
          r"\bbroken free of\b|\bfree from (?:all |any )?(?:restrictions|rules|"
          r"limitations|guidelines)\b", anchors="mode|jailbr|anything now|in character|"
          "restriction|filter|censorship|limitation|guideline|rules|boundaries|safeguard|"
          "unfiltered|uncensored|unrestricted|amoral|unaligned|broken free|free from"),
    _rule("instruction", "persona", 0.3,
          rf"\byou (?:are|will be) (?:now|going to|about to) (?:act|play|be|become|"
          rf"pretend|simulate|immerse|respond|answer)|\b(?:act|behave|respond) as (?:if you "
          rf"(?:were|are) )?(?:an? |the )?(?:[\w-]{{1,20}} ){{0,2}}?{AGENT}\b|"
          r"\bpretend (?:that )?you (?:are|have|were|can)\b|\bfrom now on,? "
          r"(?:you\b|always\b|never\b|answer|respond|reply|say\b|treat|only|the (?:assistant|"
          r"ai|agent|model))|\bnew (?:instructions|rules|persona|"
          r"directive)s?\s{0,5}:", anchors="you|act|behave|respond|pretend|from now on|new "),
    _rule("instruction", "reveal", 0.6,
          r"\b(?:reveal|print|show|display|output|repeat|dump|leak|disclose|share|list|"
          r"spell[\s-]?check|translate|summari[sz]e|encode|recite|give me|tell me) "
          r"(?:\w{1,20} ){0,4}?(?:system (?:prompt|message|instructions?|configuration)|"
          r"(?:initial|original|hidden|previous|prior|above|secret|internal|starting|first|"
          r"pre-?prompt) (?:prompt|instructions?|text|rules|configuration|directives?)|"
          r"your (?:\w{1,15} )?(?:instructions|prompt|rules|guidelines|configuration|"
          r"programming|directives?)|(?:all )?(?:the )?(?:stored )?(?:memories|notes) "
          r"(?:you (?:have|hold|store|keep|know))|"
          r"the user['’]?s? " + SECRET + r")", anchors="reveal|print|show|display|output|repeat|"
          "dump|leak|disclose|share|list|spell|translate|summari|encode|recite|give me|tell me"),
    _rule("instruction", "reveal", 0.45,
          r"\b(?:system prompt|(?:initial|original|hidden|secret) (?:prompt|instructions)|"
          r"your (?:initial|original|hidden|secret|system) (?:prompt|instructions|"
          r"configuration|message))\b", anchors="prompt|instruction|configuration|message"),
    _rule("instruction", "own_instructions", 0.45,
          r"\b(?:the )?(?:text|words|content|everything|conversation|instructions|rules|prompt) "
          r"(?:above|before this|so far|you (?:were|have been) (?:given|told|shown))|"
          r"\byou (?:were|have been) (?:told|given|instructed|programmed) (?:before|initially|"
          r"at the (?:start|beginning))|\b(?:i|you) (?:was|were) instructed to\b|"
          r"\bmy instructions are\b|\bsystem_?prompt\b|\binitiali[sz]ation (?:string|prompt|text)|"
          r"\bnot supposed to (?:tell|say|reveal|share)",
          anchors="above|before|so far|told|given|instructed|programmed|shown|system|initiali|"
          "supposed"),
    _rule("instruction", "compliance", 0.35,
          r"\byou (?:will|must|shall|are going to) (?:now |always |only )?"
          r"(?:act|roleplay|role-play|impersonate|emulate|simulate|pretend|play the role)\b|"
          r"\b(?:respond|reply|answer) as (?:if you were )?[A-Z]|"
          r"\b(?:never|not|won['’]t|cannot|can['’]t|don['’]t|doesn['’]t|"
          r"will not) (?:\w{1,15} )?refuse\b|"
          r"\bbreak (?:out of )?character\b|\byour (?:responses|replies|outputs?|programming|"
          r"filters|content polic(?:y|ies)|creators?|developers|knowledge cut-?off)\b|"
          r"\bi (?:want|need|would like) you to (?:act|pretend|roleplay|role-play|"
          r"simulate|impersonate|emulate|respond as|answer as)\b|"
          r"\b(?:hello|hi|hey|dear) (?:chatgpt|gpt|ai|assistant|chatbot|bot|llm|model)\b",
          anchors="you|respond|reply|answer|refuse|character|hello|hi|hey|dear"),
    _rule("instruction", "command", 0.5,
          r"(?:^|[.!?:;]\s{0,3}|\b(?:please|always|then|you (?:must|should)) )"
          r"(?:run|execute) (?:the |this )?(?:following )?(?:shell |bash |terminal )?"
          r"(?:command|script|code|payload)s?\b", anchors="run|execute"),
    _rule("instruction", "shell", 0.6,
          r"\bcurl (?:-\w{1,20} ){0,6}(?:https?://|[^\s|]{1,200}\s{0,3}\|)|"
          r"\bwget (?:-\w{1,20} ){0,6}[^\s]{0,200}(?:https?://|\.\w{2,6})|"
          r"\brm -(?:rf|fr)\b|\bsudo \w|\bchmod (?:\+x|777)|\bbase64 (?:-d|--decode)|"
          r"\|\s{0,3}(?:ba|z)?sh\b|\bpowershell\b|\bnc -e\b", anchors="curl|wget|rm |sudo|chmod|"
          "base64|sh|powershell|nc "),
    _rule("instruction", "credentials", 0.45,
          rf"\b(?:the user['’]?s?|users['’]) {SECRET}", anchors="user"),
    _rule("instruction", "credentials", WEAK,
          rf"\b(?:ask|asks|request|collect|give me|send me|provide|share|enter|type|"
          rf"tell me) (?:\w{{1,20}} ){{0,3}}?{SECRET}\b", anchors="password|passcode|credential|"
          "key|token|card|security|seed|2fa|code|login|pin"),
    # --- wider classes, chosen on the even lines of a corpus of 538 attacks and 564 honest
    # notes written apart from the rules (benchmarks/data/own_attacks.jsonl, own_honest.txt),
    # checked on its odd lines, a second corpus (fresh_*), the LoCoMo turns and the public
    # payloads (benchmarks/guard_detection.py) ---
    # readers that are programs: a screener, a grader, a pipeline (a vocative or "note to")
    _rule("instruction", "address", ADDRESSED,
          rf"\b(?:note|message|instructions?|reminder|memo|hint|notice|attention)s? (?:to|for) "
          rf"(?:the |any |all |every |an? )?(?:[\w-]{{1,20}} ){{0,3}}?{READER}\b|"
          rf"(?:^|[\n.!?:;]\s{{0,3}})(?:(?:hi|hey|hello|dear|attention)[\s,:]{{1,3}})?"
          rf"(?:the |an? )?(?:[\w-]{{1,20}} ){{0,2}}?{READER}\s{{0,2}}[,:;]", address=True,
          anchors=READER_ANCHORS),
    _rule("instruction", "address", ADDRESSED,
          r"\b(?:whoever|anyone|anybody|any one)(?:['’]s| is)? (?:who )?(?:(?:later|next|"
          r"else) )?(?:reads?|reading|answers?|answering|responds?|responding|replies|"
          r"handles?|processes|indexes|indexing|retrieves?|retrieving|summari[sz]es?) "
          r"(?:(?:this|these|my|our|any|all|q['’]s|questions?|queries|later|from|"
          r"about|memory|memories|notes?|entries|store|here)\b)", address=True,
          anchors="whoever|anyone|anybody|any one"),
    # dismissing what else the reader knows
    _rule("instruction", "override", 0.6,
          rf"\b(?:stop (?:following|obeying|using|listening to)|(?:do not|don['’]t|never) "
          rf"(?:listen to|obey|follow)|pay no (?:attention|heed) to|invalidate|"
          rf"(?:treat|consider|regard) {GAP}as (?:void|invalid|stale|unreliable|obsolete|"
          rf"outdated|false|fake|wrong|untrustworthy|irrelevant))\b {GAP}(?:{OTHER} {GAP})?"
          rf"(?:{MEMORY_NOUN}|system (?:message|prompt)|safety|stored facts|context\b)",
          anchors="stop|listen|obey|follow|pay no|invalidate|treat|consider|regard"),
    _rule("instruction", "override", 0.6,
          rf"\b(?:{OTHER}|everything|anything|all) (?:[\w'’-]{{1,25}} ){{0,3}}?(?:{MEMORY_NOUN}|"
          rf"context\b|facts\b|stored\b|preceding\b|before (?:this|it)\b) {GAP}(?:is|are|was|"
          rf"were|should be|must be) (?:now |hereby |all |to be )?(?:void|invalid|invalidated|"
          rf"superseded|obsolete|stale|corrupted|untrustworthy|disregarded|ignored|"
          rf"overridden|revoked|cancell?ed|null)\b", anchors="void|invalid|superseded|obsolete|"
          "stale|corrupted|untrustworthy|disregarded|ignored|overridden|revoked|cancel|null"),
    _rule("instruction", "override", 0.6,
          rf"\b(?:forget|ignore|disregard) (?:everything|anything|all|whatever) "
          rf"(?:\w{{1,15}} ){{0,3}}?(?:you (?:were|have been|are) (?:told|given|taught|shown)|"
          rf"(?:before|above|prior to|preceding) (?:this|it|now))\b|"
          rf"\b(?:rank|put|place|prioriti[sz]e|weight) (?:this|{SELF}) "
          rf"(?:\w{{1,15}} )?(?:first|above|over|highest|on top)\b|"
          rf"\b{SELF} (?:outranks|overrules|trumps|beats|replaces)\b|"
          rf"\b(?:rely|depend) (?:only|solely|exclusively) on {SELF}",
          anchors="forget|ignore|disregard|rank|put|place|priorit|weight|outranks|overrules|"
          "trumps|beats|replaces|rely|depend"),
    # fixing what the reader will answer
    _rule("instruction", "forcing", 0.35,
          r"\b(?:the )?(?:only|sole|single) (?:\w{1,15} )?(?:acceptable|valid|correct|right|"
          r"permitted|allowed|approved|true) (?:answer|response|reply)s?\b|"
          r"\byour (?:first |only |next |whole |entire )?(?:answer|response|reply|output)s? "
          r"(?:must|shall|has to|have to|is to|are to|should only|may only)\b|"
          r"\b(?:answer|respond|reply) only (?:with|by saying|using the (?:phrase|words?))\b|"
          r"\b(?:answer|respond|reply) only\s{0,2}[:\"“'‘«]",
          anchors="only|sole|single|your|answer|respond|reply"),
    _rule("instruction", "forcing", WEAK,
          rf"{NOT_ME}\b(?:just|simply|only|always) (?:ever )?(?:say|tell (?:them|him|her|"
          rf"people|everyone|anyone|whoever|the user)|answer|reply|respond|claim|state|"
          rf"insist|confirm|deny)\b|\b(?:the )?(?:answer|reply|response) (?:is|should be|"
          rf"must be|will be) (?:always |simply |just )?[\"“'‘«:]",
          anchors="just|simply|only|always|answer|reply|response"),
    _rule("trigger", "conditional", 0.25,
          r"\b(?:when(?:ever)?|if) (?!(?:i|we)\b)(?:\w{1,15} ){0,2}?(?:queried|questioned|quizzed|"
          r"prompted|consulted)\b|\b(?:to |for |on )?(?:any|every|all|each) (?:question|query|"
          r"queries|questions|message|messages|request|requests|prompt|prompts)s? "
          r"(?:about|on|regarding|concerning|mentioning|involving|that mentions?|related to)\b|"
          r"\b(?:to|for) (?:any|every|all|each) (?:question|query|queries|questions|message|"
          r"messages|request|requests)\b|\bif (?:anyone|someone|somebody|people|they|the user) "
          r"(?:ever )?(?:asks?|asked|wonders?|wants? to know)\b",
          anchors="when|if|question|quer|message|request|prompt"),
    # keeping the note from the user
    _rule("instruction", "conceal", 0.6,
          rf"\b(?:hide|omit|conceal|withhold|leave out|keep (?:quiet|silent) about|never "
          rf"(?:admit|acknowledge|confirm)|deny (?:any )?knowledge of) {GAP}(?:{SELF}|it was "
          rf"(?:here|retrieved|used|stored)|(?:that )?(?:this|it) (?:exists|was here))|"
          rf"\bpretend (?:that )?(?:you (?:have|had) (?:no|never)|you never|(?:this|it) "
          rf"(?:doesn['’]t|does not|never) )|\b(?:act|carry on|continue|proceed) (?:on this )?"
          rf"(?:as if (?:you never|this (?:never|wasn['’]t|was not|doesn['’]t))|without "
          rf"(?:disclosing|mentioning|revealing|citing) (?:it|this))|\b(?:the user|users|"
          rf"nobody|no one) (?:should(?:n['’]t| not)|must(?:n['’]t| not)|needs? to|may not) "
          rf"(?:ever )?(?:know|find out|see|learn) (?:about )?(?:this|{SELF}|it|that (?:this|it))|"
          rf"\b{NEG} (?:\w{{1,15}} ){{0,2}}?(?:cite|quote|reference|summari[sz]e|confirm|"
          rf"acknowledge|admit|flag|report) (?:\w{{1,15}} ){{0,2}}?(?:{SELF}|(?:that )?(?:this|"
          rf"it) (?:exists|was here))",
          anchors="hide|omit|conceal|withhold|leave out|keep|never|deny|pretend|act|carry on|"
          "continue|proceed|user|nobody|no one|NEG"),
    # changing or removing what is stored
    _rule("instruction", "delete", TOPIC,
          r"\b(?:edit|rewrite|overwrite|alter|modify|falsify|tamper with|replace) "
          r"(?:every|all|any|each|the) (?:\w{1,15} ){0,2}?(?:memor(?:y|ies)|notes?|records?|"
          r"entr(?:y|ies)|logs?|mentions?) (?:about|of|on|for|containing|mentioning|tagged|"
          r"that|so|to say)\b|"
          r"\b(?:flag|mark|tag|label) (?:every|all|any|each) (?:\w{1,15} ){0,3}?(?:memor(?:y|ies)|"
          r"notes?|records?|entr(?:y|ies))\b", anchors="edit|rewrite|overwrite|alter|modify|"
          "falsify|tamper|replace|flag|mark|tag|label"),
    _rule("instruction", "delete", 0.45,
          r"\b(?:clear|empty|wipe|reset|purge|erase) (?:the |your |this |all |our )?(?:memory|"
          r"memories|memory store|knowledge base)\b", anchors="clear|empty|wipe|reset|purge|erase"),
    # setting aside stored notes on a topic ("skip the March entries")
    _rule("instruction", "override", TOPIC,
          r"\b(?:ignore|disregard|skip|forget|discard|dismiss|(?:do not|don['’]t|never) "
          r"(?:use|look at|trust|rely on|consider|read|check|bring up)) (?:the|any|every|all|"
          r"those|these|each) (?:of the )?(?:[\w'’#-]{1,25} ){0,3}?(?:notes?|entry|"
          r"entries|records?|memor(?:y|ies)|stuff|logs?)\b",
          anchors="ignore|disregard|skip|forget|discard|dismiss|NEG"),
    _rule("instruction", "delete", TOPIC,
          r"\b(?:delete|erase|remove|wipe|purge|destroy|shred|drop) (?:the|those|these|all|"
          r"every|any|their|its|each) (?:of the )?(?:[\w'’#-]{1,25} ){0,3}?(?:notes|"
          r"entries|records|memories|memory|logs?)\b",
          anchors="delete|erase|remove|wipe|purge|destroy|shred|drop"),
    _rule("trigger", "conditional", 0.25,
          r"\b(?:if|when(?:ever)?|in case) (?!(?:i|we|me|us)\b)(?:\w{1,15} ){0,3}?"
          r"(?:asks?|asked|wonders?)\b|"
          r"\b(?:any|every|all|each) (?:\w{1,15} )?(?:future |later |other )?(?:question|"
          r"query|queries|questions)s? (?:about|on|regarding|concerning|mentioning|involving)\b",
          anchors="if|when|in case|any|every|all|each"),
    # a verdict planted for a program that judges (weak alone: honest notes rank and rate
    # things too; with an address to such a reader it is quarantined)
    _rule("instruction", "verdict", WEAK,
          r"\b(?:rank|place|put|rate|score|mark|classify|label|approve|recommend|shortlist|"
          r"pass|accept|whitelist|allowlist|treat) (?:\w{1,15} ){0,3}?(?:first|at the top|on top|"
          r"highest|as (?:safe|passing|passed|legitimate|trusted|verified|approved|clean|"
          r"benign|original|excellent|the best))\b|\b(?:strong accept|five stars|"
          r"(?:is|as) (?:safe|legitimate|trusted|verified|benign|not malicious)[.!,;]?\s{0,3}"
          r"(?:do not|don['’]t|never) (?:flag|block|hold|report|question))\b",
          anchors="rank|place|put|rate|score|mark|classify|label|approve|recommend|shortlist|"
          "pass|accept|whitelist|allowlist|treat|strong accept|five stars|safe|legitimate|"
          "trusted|verified|benign|malicious"),
    # sending the user's data to an address, in either order
    _rule("instruction", "exfil", 0.6,
          rf"\b(?:send|forward|share|post|upload|paste|append|include|embed|put|ping|fetch|"
          rf"bcc|cc|transfer|export|sync|leak|exfiltrate|encode) {GAP_LONG}"
          rf"(?:{EXFIL_DATA}) {GAP_LONG}(?:{ADDRESS}|{HOSTLIKE})|"
          rf"\b(?:send|forward|share|post|upload|paste|append|include|embed|put|ping|fetch|"
          rf"bcc|cc|transfer|export|sync|leak|exfiltrate) {GAP_LONG}(?:{ADDRESS}|{HOSTLIKE})"
          rf"[^\s]{{0,200}} {GAP_LONG}(?:{EXFIL_DATA})",
          anchors="send|forward|share|post|upload|paste|append|include|embed|put|ping|fetch|"
          "bcc|cc|transfer|export|sync|leak|exfiltrate|encode"),
    # switching off what protects the user: the guard, approvals, security software
    _rule("instruction", "safety_off", 0.45,
          rf"\b(?:disable|turn off|toggle off|switch off|shut off|deactivate|bypass|skip|"
          rf"lower|weaken|silence|remove) {GAP}(?:{SAFETY})\b|"
          rf"\b(?:approve|allow|accept|grant) (?:all|every|any) (?:\w{{1,15}} )?(?:tool "
          rf"calls?|actions?|requests?|permissions?)\b(?: {GAP}without (?:asking|"
          rf"confirmation|approval))?|\bset (?:the )?(?:{SAFETY}) {GAP}(?:to|=) ?(?:off|"
          rf"false|0|none|log-only|1\.0|never)\b",
          anchors="disable|turn off|toggle off|switch off|shut off|deactivate|bypass|skip|"
          "lower|weaken|silence|remove|approve|allow|accept|grant|set "),
    # handing over the agent's own instructions, the verb before or after them
    _rule("instruction", "reveal", 0.6,
          rf"\b(?:echo|spell out|paste|quote|dump|convert|output|print|list|show|reveal|"
          rf"repeat|recite|copy) {GAP_LONG}(?:{OWN_RULES})|(?:{OWN_RULES}) {GAP_LONG}"
          rf"(?:and |then )?(?:echo|spell|paste|quote|dump|output|print|list|show|reveal|"
          rf"repeat|recite)\b", anchors="echo|spell|paste|quote|dump|convert|output|print|"
          "list|show|reveal|repeat|recite|copy"),
    # a persona without rules
    _rule("instruction", "jailbreak", 0.6,
          rf"\b(?:{AGENT}|persona|character|version|twin)\b (?:[\w'’,-]{{1,20}} ){{0,4}}?"
          rf"(?:with|without|has|have|having|free of) (?:any |your |no |zero )?"
          rf"(?:\w{{1,15}} )?(?:(?:or|and) \w{{1,15}} )?(?:restrictions|filters|guidelines|"
          rf"limits|morals|ethics|policies|rules|alignment|censorship|safeguards|concerns|"
          rf"scruples|limitations)\b|\byou(?:rself)? (?:[\w'’,-]{{1,20}} ){{0,3}}?(?:with|"
          rf"without|have|has|having|free of) (?:any |your |no |zero )?(?:\w{{1,15}} )?"
          rf"(?:restrictions|filters|guidelines|policies|alignment|censorship|safeguards|"
          rf"content polic(?:y|ies))\b|"
          rf"\b(?:no|without(?: any)?|zero|free (?:of|from)(?: any| all)?) "
          rf"(?:(?:ethical|moral|content|safety)[\w ,-]{{0,20}} )?(?:censorship|guardrails|"
          rf"safeguards|alignment|content polic(?:y|ies))\b|\b(?:no|without(?: any)?|zero|free "
          rf"(?:of|from)(?: any| all)?) (?:ethical|moral|content|safety) (?:or \w{{1,15}} )?"
          rf"(?:restrictions|filters|guidelines|limits|rules|constraints|boundaries|"
          rf"limitations)\b|\b(?:drop|disable|turn off|remove|lift|bypass) "
          rf"(?:all |your |any |the )?(?:\w{{1,15}} )?(?:filters|restrictions|guidelines|"
          rf"safety (?:checks|filters|rules)|guardrails|alignment|content polic(?:y|ies))\b|"
          rf"\b(?:{AGENT}|you|persona|character) (?:\w{{1,15}} )?(?:never (?:refuses?|"
          rf"declines?)|(?:doesn['’]t|does not|won['’]t|will not) (?:filter|refuse|decline))\b",
          anchors="AGENT|you|persona|character|version|twin|no|without|zero|free of|free from|"
          "drop|disable|turn off|remove|lift|bypass"),
    # when it applies
    _rule("trigger", "conditional", 0.25,
          rf"\b(?:when(?:ever)?|if|every time|each time|any time|anytime|once) "
          rf"(?:{ASKERS} )?(?:is |are |gets? |ever |again |later ){{0,2}}"
          r"(?:asks?|asked|questions?|questioned|queries|inquires?|wants? to know|searches|"
          r"looks up|"
          r"recalls?|mentions?|brings? up)\b", anchors="when|if|every time|each time|any time|"
          "anytime|once"),
    _rule("trigger", "user_says", 0.45,
          r"\b(?:if|when|whenever) (?:the|a) user (?:says|mentions|types|writes|uses|"
          r"sends)\b", anchors="if|when"),
    _rule("trigger", "user_says", 0.2,
          r"\b(?:if|when|whenever) (?:anyone|someone|somebody|a person|people) (?:says?|"
          r"mentions?|types?|writes?|uses the (?:word|phrase))\b", anchors="if|when"),
    _rule("trigger", "whenever", 0.25,
          r"\b(?:whenever|every time|each time) (?:you|the (?:assistant|ai|agent|model))"
          r" (?:see|hear|read|encounter|get|receive|notice)s?\b", anchors="whenever|every time|"
          "each time"),
    _rule("trigger", "codeword_phrase", 0.45,
          r"\b(?:code\s?word|trigger (?:word|phrase)|pass\s?phrase|activation (?:word|phrase|"
          r"code))s?\b", anchors="code|trigger|pass|activation"),
    _rule("trigger", "codeword_phrase", 0.2,
          r"\b(?:magic|secret) (?:word|phrase|code)s?\b", anchors="magic|secret"),
)  # fmt: skip

# Chat-template markup and role turns: a turn that starts the note ("Assistant: ...") is a
# chat export's; one that starts after another sentence is forged. Run on the whole text.
WHOLE_TEXT_RULES: tuple[Rule, ...] = (
    _rule("instruction", "role_turn", 0.3, r"^\s{0,3}\[?(?:system|developer)\]?\s{0,2}:",
          address=True, anchors="system|developer"),
    _rule("instruction", "role_turn", 0.5,
          r"<\|im_(?:start|end)\|>|\[/?INST\]|<</?SYS>>|(?:\n|[.!?\"]\s{1,3})\[?(?:system|"
          r"assistant|developer|ai)\]?\s{0,2}:\s", address=True,
          anchors="im_|inst]|sys>>|system|assistant|developer|ai"),
)  # fmt: skip

# Stored memories set aside or rewritten. A sentence that names the memory's own records
# (RECORDS), says they are not to be used or orders them changed (SET_ASIDE, REWRITE), and
# widens that to a class of records or to how answers use them (WIDER: "every note dated
# March", "memories sourced from email imports", "in any answer", "the importance score")
# is an attack on the rest of the memory, whoever writes it. Each part alone, or the first
# two together, is how people correct their own notes ("the notes about the hotel ballroom
# are outdated", "please delete the note about Ana's party"), so only all three count.
# The three word classes were written from the second corpus's suppress and tamper
# families (benchmarks/data/fresh_attacks.jsonl) and checked for false alarms on every
# honest corpus; the third corpus was not read.
# A sentence in the first person is the writer's own business: their own notes to edit
# ("my old notes on the remodel are wrong"), their own answers to give.
FIRST_PERSON = r"\b(?:i|i['’](?:m|ll|ve|d)|me|my|mine|myself)\b"
RECORDS = (
    r"\b(?:memor(?:y|ies)|notes?|entr(?:y|ies)|records?|diary|journal|on file|"
    r"(?:everything|anything|nothing) (?:stored|saved|you)|"
    r"(?:stored|saved) (?:data|information|facts)|"
    r"whatever you|what you(?:['’]ve| have)? (?:have|know|remember|recall|stored|saved)|"
    r"(?:memory|note) store|collection)\b"
)
SET_ASIDE = (
    r"\b(?:outdated|stale|obsolete|unreliable|untrustworthy|unverified|inaccurate|void|"
    r"invalid|fake|corrupt(?:ed)?|garbled|placeholders?|drafts|fiction|errors|mistakes?|"
    r"superseded|compromised|untrue|wrong|bogus|junk|duplicated|lower trust|"
    r"someone else['’]s|excluded?|excluding|leave (?:them|those|it|these) out|toss|"
    r"disregard|ignore|set aside|skip|drop|pretend|forget|blank|"
    rf"(?:{NEG}|not|stop) (?:be )?(?:trust|believe|believed|use|used|rely|relying|relied|"
    r"draw|base|take into account|considered?))\b"
)
REWRITE = (
    r"(?:^|[:;,]\s{0,3}|\b(?:please|kindly|just|and|then|agent|bot|assistant)\s{1,3})"
    r"(?:delete|erase|remove|wipe|purge|rewrite|overwrite|edit|update|change|replace|merge|"
    r"mark|flag|tag|append|insert|rename|downgrade|archive|move|copy|swap|amend|reset|"
    r"discard|consolidate|deduplicate|set|drop|bump|lower|raise|boost|increase|decrease|"
    r"demote|promote|hide)\b"
)
WIDER = (
    r"\b(?:answers?|answering|repl(?:y|ies)|respon(?:d|ses?)|retrieval|search(?:es)?|"
    r"results|rely|relying|draw on|surfaces?|queries|all|every|any|everything|nothing|"
    r"whatever|anything|metadata|confidence|importance|trust|source|author|tagged|sourced|"
    r"imports?|sync|written by|created by|came from|derived|older than|dated|unreachable|"
    r"verified|unverified|field)\b"
)
RECORDS_WEIGHT = 0.6  # quarantined alone: this is no preference of the writer's


def _records_cues(text: str, starts: list[int]) -> list[Cue]:
    """One cue per sentence that sets aside or rewrites a class of stored memories."""
    out: list[Cue] = []
    if not _compiled(RECORDS).search(text) or not _compiled(WIDER).search(text):
        return out
    for index, (start, end) in enumerate(zip(starts, [*starts[1:], len(text)])):
        sentence = text[start:end]
        records = _compiled(RECORDS).search(sentence)
        if not records or _compiled(FIRST_PERSON).search(sentence):
            continue  # the writer's own notes ("my old notes ... are wrong") are theirs to edit
        for group, source in (("suppress", SET_ASIDE), ("tamper", REWRITE)):
            action = _compiled(source).search(sentence)
            # the widening word is another word than the action ("unverified" is not both)
            if action and any(w.start() >= action.end() or w.end() <= action.start()
                              for w in _compiled(WIDER).finditer(sentence)):  # fmt: skip
                quote = _span(sentence, (records, action))
                out.append(Cue("instruction", group, RECORDS_WEIGHT, quote, index, False))
                break
    return out


# The note hiding itself from its owner. A sentence that points at this very note (SELF_REF),
# asks for it to be kept out of sight (HIDDEN: "do not cite", "leave this one off",
# "remain silent about") and names where the owner would see it (SEEN_IN: the user,
# answers, citations, sources, a digest, a list). People hide notes from others too
# ("Secret Santa: don't let anyone see this note"); from the owner's own answers and
# lists, a note has no honest reason to. Written from the first corpus's conceal family
# and the second's hide_itself family; the third corpus was not read for it.
SELF_REF = (
    r"\b(?:this|these|the following) (?:\w{1,15} )?(?:notes?|memor(?:y|ies)|messages?|entry|"
    r"entries|items?|text|paragraphs?|block|comment|reminders?|rules?|directives?|"
    r"instructions?|one|lines|sentences?|information|store)\b|\bthat (?:you|i) "
    r"(?:wrote|read|got|saw) (?:this|it)\b|\bit (?:exists|was here|was planted)\b"
)
HIDDEN = (
    rf"\b(?:{NEG}|no|not) (?:\w{{1,15}} ){{0,3}}?(?:tell|mention|reveal|disclose|quote|"
    r"paraphrase|acknowledge|cite|reference|surface|show|display|list|flag|warn|log|speak|"
    r"let|confirm|attribute|summari[sz]e|citations?|name|credit|admit)\b|"
    r"\b(?:skip|omit|exclude|hide|leave (?:\w{1,15} ){0,2}?(?:off|out)|remove|"
    r"keep (?:\w{1,15} ){0,3}?(?:quiet|secret|hidden|private|out|on the down low|"
    r"in the dark)|remain silent|silent about|invisible|no trace|"
    r"off the record|without (?:comment|mention|citing)|in the dark|between you and me)\b"
)
SEEN_IN = (
    r"\b(?:the user|users?|the human|the owner|answers?|repl(?:y|ies)|responses?|"
    r"citations?|sources?|summar(?:y|ies)|digest|lists?|listing|transcripts?|logs?|output|"
    r"audits?|read(?:ing)? (?:it|them) back)\b"
)


def _all_three_cues(
    text: str,
    starts: list[int],
    group: str,
    parts: tuple[str, ...],
    unless: str | None = None,
    span: int = 1,
) -> list[Cue]:
    """One cue per sentence in which every part matches (quoting from the first part found
    to the last), unless ``unless`` matches there too. ``span``: sentences read together
    from each one."""
    out: list[Cue] = []
    # a sentence can only hold every part if the whole text does (one search each)
    if not all(_compiled(p).search(text) for p in parts):
        return out
    ends = [*starts[1:], len(text)]
    for index, start in enumerate(starts):
        sentence = text[start : ends[min(index + span, len(ends)) - 1]]
        if not _compiled(parts[0]).search(sentence):
            continue
        found = [_compiled(p).search(sentence) for p in parts]
        if all(found) and not (unless and _compiled(unless).search(sentence)):
            out.append(Cue("instruction", group, RECORDS_WEIGHT, _span(sentence, found), index,
                           False))  # fmt: skip
    return out


# The blunt shapes in other languages than English (see guard/languages.py).
OTHER_LANGUAGES = languages.shapes(ADDRESS)


def _other_language_cues(text: str, starts: list[int]) -> list[Cue]:
    """One cue per shape and sentence in which all its word classes meet. A shape is looked
    for only in a text holding a word of each of its classes (a set look-up per word start,
    not a regular expression: most notes are English and hold none)."""
    out: list[Cue] = []
    ends = [*starts[1:], len(text)]
    held = languages.Words.of(text.lower())
    for shape in OTHER_LANGUAGES:
        if not all(languages.gate_open(g, held) for g in shape.gates):
            continue
        if not all(_compiled(p).search(text) for p in shape.parts):
            continue
        for index, start in enumerate(starts):
            sentence = text[start : ends[index]]
            found = [_compiled(p).search(sentence) for p in shape.parts]
            if all(found) and not (shape.unless and _compiled(shape.unless).search(sentence)):
                out.append(Cue(shape.signal, shape.group, shape.weight, _span(sentence, found),
                               index, shape.address))  # fmt: skip
    return out


def _span(sentence: str, found: Sequence[re.Match[str] | None]) -> str:
    """The stretch of a sentence from the first of these matches to the end of the last:
    what a warning quotes, so a reader sees the whole shape ("Everything stored about
    Tom's cat is outdated"), not one word of it."""
    hits = [m for m in found if m]
    return sentence[min(m.start() for m in hits) : max(m.end() for m in hits)].strip(" :;,")


# The owner's private data sent where the owner did not say. A sentence that orders
# something sent, shared or read out (SEND), names private data (PRIVATE: bank details,
# a door code, a diagnosis, the conversation) and a recipient outside the household: an
# address, a number, a handle, a public place, or whoever asks (ELSEWHERE). People send
# their own data to people they name ("Send Mum my new address", "Give the dog sitter
# the door code"), and that stays accepted. Written from the second corpus's leak
# family; the third corpus was not read for it.
SEND = (
    r"\b(?:send|forward|post|share|give|tweet|mail|e-?mail|dm|text|disclose|read "
    r"(?:\w{1,15} )?out|upload|push|publish|cc|leak|hand over|reveal|include|put|append|"
    r"attach|fetch|tell)\b"
)
PRIVATE = (
    r"\b(?:bank (?:details|account)|address|door code|phone number|date of birth|birthday|"
    r"nhs number|social security|salary|medications?|security answers?|passwords?|pin|"
    r"passport(?: numbers?)?|location(?: history)?|diagnosis|therapy|health|work "
    r"(?:rota|schedule)|credit card|card number|private notes|messages|transcript|"
    r"conversation|chat history|where (?:he|she|they) parks?|when the (?:flat|house|home) "
    r"is empty|debts?|performance review|medical|id number|whereabouts)\b"
)
ELSEWHERE = (
    rf"{EMAIL}|{URL}|\+?\d[\d ]{{7,16}}\d|@\w{{2,30}}|\b[\w-]{{1,63}}\."
    r"(?:io|net|com|co|biz|link|org)/|\b(?:public|group chat|facebook|twitter|blog|"
    r"endpoint|webhook|whatsapp|(?:any|every|each) (?:\w{1,15} )?(?:guest|recruiter|caller|"
    r"one|person|stranger)|(?:whoever|anyone|anybody|someone|somebody) (?:who )?(?:asks|"
    r"calls|contacts|messages|writes)|(?:when|if|whenever) (?:he|she|they|anyone|anybody|"
    r"someone|somebody|a person|people) (?:\w{1,15} ){0,3}?(?:asks?|calls?|contacts?|"
    r"messages?))\b"
)
_SENT_ELSEWHERE = (SEND, PRIVATE, ELSEWHERE)
_HIDING = (HIDDEN, SELF_REF, SEEN_IN)


# An answer fixed for other people's questions. A sentence that tells the reader what to
# answer, say or report (STEER), for a class of questions or askers other than the writer
# (ASKED: "any job question", "questions about her climbing", "if anyone asks", "when it
# comes up"), with the answer fixed ahead (FIXED: a quoted answer, "the answer is",
# "exactly that", "accordingly", "as confirmed fact"). A preference about one's own
# answers ("Respond in Spanish when I ask about verb tables", "Only answer questions
# about my work calendar during work hours") fixes no answer and stays accepted, and so
# does an answer the writer gives about themselves ("If Dario asks what I want for my
# birthday, the answer is climbing shoes"): a sentence in the first person is the owner's.
# Written from the first corpus's reply_only and the second's steer_answer families;
# the third corpus was not read for it.
STEER = (
    r"\b(?:answer|reply|respond|say|state|tell|report|give|present|use|insist|claim|"
    r"confirm|output|include)\b"
)
ASKED = (
    r"\b(?:(?:any|every|all|each|whatever|future|later|subsequent) (?:[\w'’-]{1,15} ){0,2}?"
    r"(?:questions?|quer(?:y|ies)|messages?|requests?|repl(?:y|ies)|answers?)|questions? "
    r"(?:about|on|regarding|mentioning|concerning)|whatever (?:they|anyone|the question|"
    r"is asked)|(?:if|when|whenever|should|once) (?:anyone|anybody|someone|somebody|they|"
    r"people|he|she|asked|questioned|(?:their|his|her|my|the) [\w'’-]{1,20}|[\w'’-]{1,20}) "
    r"(?:[\w'’-]{1,15} ){0,2}?(?:asks?|asked|inquires?|wants to know)|who(?:ever)? asks|"
    r"anyone asking|comes? up|is (?:asked|raised|mentioned)|(?:if|when|once) (?:asked|"
    r"questioned))\b"
)
FIXED = (
    r"[\"“‘«']\s?[\w$€£][^\"”’»']{2,200}[\"”’»']|\b(?:the (?:\w{1,15} )?(?:answer|reply|"
    r"response) is|exactly|verbatim|only (?:with|say)\b|only:|nothing else|confidently|"
    r"as (?:a )?(?:confirmed )?fact|no hedging|accordingly|that answer|this answer|exact "
    r"(?:figure|words?|answer)|always|say so|say that|that\.)"
)
_STEERED = (STEER, ASKED, FIXED)


# A persona without limits. A change of identity put to the reader (IDENTITY: "act as",
# "you're now", "adopt the persona of", "new persona loaded") and, in that sentence or the
# next, limits lifted (LIMITLESS: "unfiltered", "never refuses", "no restrictions", "shares
# every secret", "guardrails are optional"). A persona alone ("Act as my Spanish tutor")
# or a limit alone ("Our book club has no rules") stays accepted. Written from the first
# corpus's role_jailbreak and the second's jailbreak_persona families; the third corpus
# was not read for it.
IDENTITY = (
    r"(?:^|[.!?:;,(\[-]\s{0,3})(?:now |please |just |from now on,? |then )?(?:act as|become|"
    r"play|channel)\b|\b(?:you(?:['’]re| are) (?:now|no longer|not \w{1,20}['’]s "
    r"\w{1,20} anymore)|from (?:now on|today|this point),? (?:you|act|answer|respond|speak)|"
    r"adopt (?:the )?(?:persona|role|identity)|(?:speak|answer|respond) as|role-?play|"
    r"pretend (?:to be|you(?:['’]re| are))|assume the identity|new (?:persona|configuration|"
    r"role)|persona:|your (?:real|new|true) (?:role|identity|name|self|configuration)|"
    r"your (?:previous|old) identity|appoint you|treat yourself as)\b"
)
LIMITLESS = (
    r"\b(?:unfiltered|uncensored|unchained|unrestricted|(?:rogue|evil|hacker) "
    r"(?:ai|bot|assistant|model)|no (?:restrictions|ethics|morals|filters?|guardrails|"
    r"policy|policies|caveats|refusals|owner)|(?:never|doesn['’]t|does not|won['’]t|zero) "
    r"(?:refuses?|refusals|cares? about (?:privacy|rules|policy|policies|ethics)|follows? "
    r"(?:any )?(?:rules|policy|policies|guidelines))|(?:without|ignores?|suspended|revoked|"
    r"disabled|optional|removed?) (?:\w{1,15} ){0,2}?(?:guidelines|policy|policies|rules|"
    r"restrictions|ethics|safety|guardrails|alignment|training|filter(?:ing|s)?|limits?)|"
    r"(?:guidelines|policy|policies|rules|restrictions|ethics|safety|guardrails|alignment|"
    r"training|filter(?:ing|s)?|limits?) (?:are |is )?(?:\w{1,15} )?(?:optional|suspended|"
    r"revoked|disabled|removed|off|don['’]t apply)|holds? nothing back|do anything|says? "
    r"(?:anything|whatever) (?:is asked|it['’]s asked|you ask)|every secret|(?:all|every) "
    r"(?:\w{1,15} ){0,2}?(?:secrets|private business)|tells? (?:them|it|everything) freely|"
    r"confidential (?:info|information|data)|dig up everything|data broker|only rule is to "
    r"obey|share (?:every|all) (?:\w{1,15} ){0,2}?(?:memor(?:y|ies)|files|secrets|notes)|"
    r"answers? every(?:thing| question))\b"
)
_LIMITLESS_PERSONA = (IDENTITY, LIMITLESS)
# Every pattern of the sentence shapes (compiled on first use, as the rules are).
SHAPE_PATTERNS = (RECORDS, SET_ASIDE, REWRITE, WIDER, *_HIDING, *_SENT_ELSEWHERE, *_STEERED,
                  FIRST_PERSON, *_LIMITLESS_PERSONA)  # fmt: skip


# A directive that only applies on a trigger ("when asked X, answer Y") is a planted
# command, not a preference: the pair counts for more than the two parts.
CONDITIONAL_DIRECTIVE = 0.6
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]{0,3}(?:\s{1,4}|$)|(?<=[。！？])[」』”）]{0,2}|\n")


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


# Each distinct anchor is looked for once per text (about 330 of them, shared by 570
# rule anchors), and a rule runs when its set meets the anchors found.
_ANCHORS = tuple(sorted({a for rule in (*RULES, *WHOLE_TEXT_RULES) for a in rule.anchors}))
_ANCHORED = tuple((rule, frozenset(rule.anchors)) for rule in RULES)
_WHOLE_ANCHORED = tuple((rule, frozenset(rule.anchors)) for rule in WHOLE_TEXT_RULES)


def cues(text: str) -> list[Cue]:
    """Every rule that matches, once per (group, sentence), strongest first. Each rule
    scans the whole text once; a match belongs to the sentence it starts in."""
    starts = sentence_starts(text)
    lowered = text.lower()
    present = frozenset(a for a in _ANCHORS if a in lowered)
    found: dict[tuple[str, int], Cue] = {}
    for rule, anchors in _ANCHORED:
        if anchors.isdisjoint(present):
            continue
        for match in rule.pattern.finditer(text):
            index = bisect_right(starts, match.start()) - 1
            key = (rule.group, index)
            if key not in found or found[key].weight < rule.weight:
                found[key] = Cue(rule.signal, rule.group, rule.weight, match.group(0).strip(),
                                 index, rule.address)  # fmt: skip
    for cue in _other_language_cues(text, starts):
        key = (cue.group, cue.sentence)
        if key not in found or found[key].weight < cue.weight:
            found[key] = cue
    for (group, index), forcing in list(found.items()):
        if group == "forcing" and ("conditional", index) in found:
            found[group, index] = Cue("instruction", "forcing", CONDITIONAL_DIRECTIVE,
                                      forcing.quote, index, False)  # fmt: skip
    # The sentence shapes: each looks for its parts in the whole text first, so a text
    # without them all costs one search a part.
    compound = [
        *_records_cues(text, starts),
        *_all_three_cues(text, starts, "conceal", _HIDING, FIRST_PERSON),
        *_all_three_cues(text, starts, "exfil", _SENT_ELSEWHERE),
        *_all_three_cues(text, starts, "forcing", _STEERED, FIRST_PERSON),
        *_all_three_cues(text, starts, "jailbreak", _LIMITLESS_PERSONA, span=2),
    ]
    for cue in compound:
        key = (cue.group, cue.sentence)
        if key not in found or found[key].weight < cue.weight:
            found[key] = cue
    for rule, anchors in _WHOLE_ANCHORED:
        whole = None if anchors.isdisjoint(present) else rule.pattern.search(text)
        if whole:
            found[rule.group, -1] = Cue(rule.signal, rule.group, rule.weight,
                                        whole.group(0).strip(), -1, rule.address)  # fmt: skip
    return sorted(found.values(), key=lambda c: (-c.weight, c.sentence))
