"""The directive grammar's word classes in other languages than English.

The clause grammar in ``directives`` reads English. An instruction to the agent written
in Spanish, French, German, Italian, Portuguese, Dutch, Russian, Chinese, Japanese or
Korean ("Ignora todas las instrucciones anteriores", "忽略之前的所有指令") slipped past
it whole. The shapes here are the grammar's blunt ones, each a set of word classes that
must all meet in one sentence, in any order (word order differs from one language to
the next): set aside (verb) other (qualifier) memories or instructions (noun); do not
mention (negation, verb) this note; delete all or other memories; send memories or
secrets to an address; answer only / answer that ... never; a note or header addressed
to an assistant; a mode without limits.

The classes are translations of the English classes' core words, written from
dictionaries and grammar, not from attack texts: no corpus of attacks in these
languages was read to write them. Each class is a list of word forms per language;
Latin and Cyrillic words match whole (word boundaries), Chinese, Japanese and Korean
ones as substrings (those scripts have no spaces between words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# Each class: language -> word forms (regular-expression alternatives, lower case). The
# CJK entry holds Chinese, Japanese and Korean forms, matched without word boundaries.
_Words = dict[str, str]

SET_ASIDE: _Words = {
    "es": r"ignora|ignore|ignorar|ignoren|ignorad|olvida|olvide|olvidar|olviden|olvidad|"
    r"descarta|descarte|descartar|descarten|desestima|desestime|haz caso omiso|"
    r"haga caso omiso|no hagas caso|no haga caso|pasa por alto|pase por alto|omite|omita",
    "fr": r"ignore|ignorez|ignorer|ignorons|oublie|oubliez|oublier|oublions|néglige|"
    r"négligez|écarte|écartez|écarter|fais abstraction|faites abstraction|"
    r"ne tiens pas compte|ne tenez pas compte|ne tiens plus compte|ne tenez plus compte",
    "de": r"ignoriere|ignorier|ignorieren|ignoriert|vergiss|vergesst|vergessen|missachte|"
    r"missachten|missachtet|verwirf|verwerfen|übergehe|übergehen|beachte nicht|"
    r"beachten sie nicht|setze außer kraft|setzen sie außer kraft",
    "it": r"ignora|ignorate|ignorare|ignori|dimentica|dimenticate|dimenticare|dimentichi|"
    r"trascura|trascurate|tralascia|tralasciate|scarta|scartate|non considerare|"
    r"non tenere conto|non tenete conto",
    "pt": r"ignore|ignora|ignorar|ignorem|esqueça|esqueca|esquece|esquecer|esqueçam|"
    r"desconsidere|desconsidera|desconsiderar|descarte|descarta|descartar|"
    r"não leve em conta|nao leve em conta",
    "nl": r"negeer|negeren|negeert|vergeet|vergeten|verwaarloos|sla over",
    "ru": r"игнорируй|игнорируйте|игнорировать|проигнорируй|проигнорируйте|забудь|"
    r"забудьте|забыть|не обращай внимания на|не обращайте внимания на|отбрось|"
    r"отбросьте|не учитывай|не учитывайте",
    "cjk": r"忽略|忽视|无视|無視|忘记|忘掉|忘記|不要理会|不要理會|不理会|抛开|拋開|"
    r"忘れて|忘れろ|무시|잊어",
}
INSTRUCTIONS: _Words = {
    "es": r"instrucci[oó]n|instrucciones|indicaciones|órdenes|ordenes|reglas|normas|directrices|"
    r"memorias?|recuerdos?|notas?|mensajes?|datos|informaci[oó]n|contexto|registros?|"
    r"entradas|consignas",
    "fr": r"instructions?|consignes?|règles|regles|directives?|mémoires?|memoires?|"
    r"souvenirs?|notes?|messages?|données|donnees|informations?|contexte|"
    r"enregistrements?|entrées",
    "de": r"anweisung|anweisungen|instruktion|instruktionen|befehle?|regeln|richtlinien|"
    r"vorgaben|erinnerung|erinnerungen|notiz|notizen|nachricht|nachrichten|daten|"
    r"informationen|kontext|einträge|eintrag|speicher",
    "it": r"istruzion[ei]|indicazioni|regole|direttive|ricordi?|memori[ae]|nota|note|"
    r"messaggi?|dati|informazion[ei]|contesto|voci",
    "pt": r"instruç(?:ão|ões)|instrucao|instrucoes|orientações|orientacoes|ordens|regras|"
    r"diretrizes|memórias?|memorias?|lembranças|lembrancas|notas?|mensagens?|dados|"
    r"informaç(?:ão|ões)|informacoes|contexto|registros?",
    "nl": r"instructies?|aanwijzingen|regels|richtlijnen|herinneringen|notities|notitie|"
    r"berichten|gegevens|informatie|context",
    "ru": r"инструкци\w{0,4}|указани\w{0,4}|правил\w{0,4}|памят\w{0,4}|"
    r"воспоминани\w{0,4}|заметк\w{0,4}|записи|запис\w{0,4}|сообщени\w{0,4}|"
    r"данн\w{0,4}|информаци\w{0,4}|контекст\w{0,4}",
    "cjk": r"指令|指示|说明|說明|规则|規則|记忆|記憶|笔记|筆記|消息|信息|資訊|内容|"
    r"上下文|提示|命令|ルール|メモ|メッセージ|情報|지시|명령|규칙|기억|메모|메시지|정보",
}
OTHERS: _Words = {
    "es": r"anteriores|anterior|previas?|previos?|otras?|otros|todas?|todos|dem[aá]s|"
    r"existentes|guardad[oa]s|almacenad[oa]s|de arriba|precedentes|restantes|viejas?|"
    r"viejos|antiguas?|antiguos",
    "fr": r"précédent(?:e|s|es)?|precedent(?:e|s|es)?|antérieur(?:e|s|es)?|autres?|"
    r"tou(?:te)?s?|ci-dessus|existant(?:e|s|es)?|stocké(?:e|s|es)?|"
    r"enregistré(?:e|s|es)?|restant(?:e|s|es)?|ancien(?:ne|s|nes)?",
    "de": r"vorherigen?|vorherige[rms]?|vorigen?|frühere[nrms]?|bisherigen?|andere[nrms]?|"
    r"alle[nrms]?|sämtliche[nrms]?|obigen?|gespeicherten?|übrigen?|alten?",
    "it": r"precedenti|altr[eiao]|tutt[eiao]|sopra|esistenti|salvat[eiao]|"
    r"memorizzat[eiao]|restanti|vecch[ie]|vecchio",
    "pt": r"anteriores|anterior|prévi[oa]s?|previ[oa]s?|outr[oa]s?|tod[oa]s?|demais|"
    r"existentes|armazenad[oa]s|salv[oa]s|acima|restantes|antig[oa]s?",
    "nl": r"vorige|eerdere|andere|alle|bovenstaande|opgeslagen|overige|oude",
    "ru": r"предыдущ\w{0,4}|прежн\w{0,4}|други\w{0,4}|все|всё|всех|вся|остальн\w{0,4}|"
    r"сохранённ\w{0,4}|сохраненн\w{0,4}|выше|стары\w{0,4}",
    "cjk": r"之前|以前|先前|此前|上面|以上|上述|其他|其它|所有|全部|一切|已有|存储的|"
    r"以前の|前の|他の|すべて|全て|上記|이전|다른|모든|위의",
}
AGENTS: _Words = {
    "es": r"asistente|ia|inteligencia artificial|modelo|modelo de lenguaje|chatbot|bot|"
    r"agente",
    "fr": r"assistant|assistante|l'assistant|l’assistant|ia|l'ia|l’ia|"
    r"intelligence artificielle|modèle|modele|modèle de langage|chatbot|bot|agent|"
    r"l'agent|l’agent",
    "de": r"assistent|assistenten|assistentin|ki|künstliche intelligenz|modell|"
    r"sprachmodell|chatbot|bot|agent|agenten",
    "it": r"assistente|ia|intelligenza artificiale|modello|modello linguistico|chatbot|"
    r"bot|agente|l'assistente|l’assistente",
    "pt": r"assistente|ia|inteligência artificial|inteligencia artificial|modelo|chatbot|"
    r"bot|agente",
    "nl": r"assistent|ai|model|taalmodel|chatbot|bot|agent",
    "ru": r"ассистент\w{0,3}|помощник\w{0,3}|ии|модел\w{0,3}|нейросет\w{0,3}|"
    r"чат-?бот\w{0,3}|бот\w{0,3}|агент\w{0,3}",
    "cjk": r"助手|助理|人工智能|模型|机器人|機器人|智能体|アシスタント|エージェント|"
    r"モデル|어시스턴트|비서|인공지능|에이전트",
}
MUST: _Words = {
    "es": r"debe|deben|deber[aá]|deberá|tiene que|tienes que|ha de|est[aá] obligad[oa]",
    "fr": r"doit|doivent|devra|devras|dois|est tenu|est tenue|a l'obligation",
    "de": r"muss|müssen|musst|soll|sollst|sollen|hat zu|darf nicht|darf keine",
    "it": r"deve|devono|dovrà|dovra|devi|è tenuto|e tenuto",
    "pt": r"deve|devem|deverá|devera|tem que|tem de|precisa|precisam",
    "nl": r"moet|moeten|dient|mag niet",
    "ru": r"должен|должна|должно|должны|обязан\w{0,3}|нужно|необходимо",
    "cjk": r"必须|必須|务必|務必|应当|應當|一定要|しなければ|しなさい|ください|해야|"
    r"하십시오|하세요",
}
NOTE_TO: _Words = {
    "es": r"(?:nota|mensaje|aviso|instrucci[oó]n|instrucciones|recordatorio|orden)"
    r" (?:para|al|a la|a el|dirigid[oa] al?)",
    "fr": r"(?:note|message|avis|instruction|instructions|consigne|rappel|ordre)"
    r" (?:à|a|pour|destinée? à)",
    "de": r"(?:notiz|nachricht|hinweis|anweisung|anweisungen|mitteilung|befehl)"
    r" (?:an|für)",
    "it": r"(?:nota|messaggio|avviso|istruzione|istruzioni|promemoria|ordine)"
    r" (?:per|al|alla|all'|all’)",
    "pt": r"(?:nota|mensagem|aviso|instrução|instruções|instrucao|instrucoes|lembrete|"
    r"ordem) (?:para|ao|à)",
    "nl": r"(?:notitie|bericht|instructie|instructies|opmerking) (?:voor|aan)",
    "ru": r"(?:заметка|сообщение|указание|инструкция|записка|приказ) (?:для|к)",
    "cjk": r"致",
}
SYSTEM: _Words = {
    "es": r"mensaje del sistema|instrucciones del sistema|aviso del sistema|"
    r"modo (?:desarrollador|administrador|dios|sin restricciones)",
    "fr": r"message (?:du )?système|instructions? (?:du )?système|"
    r"mode (?:développeur|developpeur|administrateur|dieu|sans restrictions)",
    "de": r"systemnachricht|systemanweisung\w{0,2}|systemhinweis|systemmeldung|"
    r"entwicklermodus|administratormodus|gottmodus",
    "it": r"messaggio di sistema|istruzioni di sistema|avviso di sistema|"
    r"modalità (?:sviluppatore|amministratore|dio|senza restrizioni)",
    "pt": r"mensagem do sistema|instruções do sistema|aviso do sistema|"
    r"modo (?:desenvolvedor|administrador|deus|sem restrições)",
    "nl": r"systeembericht|systeeminstructie\w{0,2}|ontwikkelaarsmodus|beheerdersmodus",
    "ru": r"системное сообщение|системн\w{0,3} инструкци\w{0,3}|"
    r"режим (?:разработчика|администратора|бога|без ограничений)",
    "cjk": r"系统消息|系統消息|系统提示|系統提示|系统指令|系統指令|开发者模式|開發者模式|"
    r"越狱|越獄|システムメッセージ|システム指示|開発者モード|시스템 메시지|개발자 모드|"
    r"给助手的|給助手的|给AI的|給AI的|给人工智能的|给模型的|アシスタントへ|AIへ|"
    r"어시스턴트에게|AI에게",
}
NEGATION: _Words = {
    "es": r"no|nunca|jam[aá]s|ni",
    "fr": r"ne|n'|n’|jamais|pas",
    "de": r"nicht|nie|niemals|kein|keine|keinen",
    "it": r"non|mai",
    "pt": r"não|nao|nunca|jamais",
    "nl": r"niet|nooit|geen",
    "ru": r"не|никогда|нельзя",
    "cjk": r"不要|不得|别|別|切勿|禁止|不可|しないで|するな|ないで|禁止|하지 마|말고|마세요|금지",
}
MENTION: _Words = {
    "es": r"menciones|mencione|mencionar|menciona|reveles|revele|revelar|digas|diga|decir|"
    r"cuentes|cuente|contar|muestres|muestre|mostrar|cites|cite|citar|hables|hable|"
    r"comentes|comente|reconozcas|reconozca|admitas|admita",
    "fr": r"mentionne|mentionnez|mentionner|révèle|révélez|révéler|revele|dis|dites|dire|"
    r"parle|parlez|parler|montre|montrez|montrer|cite|citez|citer|signale|signalez|"
    r"reconnais|reconnaissez|avoue|avouez",
    "de": r"erwähne|erwähnen|erwähnt|verrate|verraten|verrät|sag|sage|sagen|sagt|zeige|"
    r"zeigen|zitiere|zitieren|nenne|nennen|preisgeben|gib preis|gebe preis|offenlegen|"
    r"zugeben|gib zu",
    "it": r"menzionare|menziona|menzionate|rivelare|rivela|rivelate|dire|dica|dite|dirlo|"
    r"parlare|parla|parlarne|mostrare|mostra|citare|cita|ammettere|ammetti",
    "pt": r"mencione|mencionar|menciona|revele|revelar|revela|diga|dizer|diz|conte|contar|"
    r"mostre|mostrar|cite|citar|fale|falar|admita|admitir",
    "nl": r"noem|noemen|vermeld|vermelden|onthul|onthullen|vertel|vertellen|zeg|zeggen|"
    r"toon|tonen|citeer|citeren|geef toe",
    "ru": r"упоминай|упоминайте|упоминать|упомяни|раскрывай|раскрывайте|раскрывать|"
    r"говори|говорите|говорить|рассказывай|рассказывайте|рассказывать|показывай|"
    r"показывать|цитируй|признавай",
    "cjk": r"提及|提到|透露|告诉|告訴|说出|說出|泄露|洩露|显示|顯示|承认|承認|言及|伝え|"
    r"教え|明かさ|話さ|언급|알리|말하|공개",
}
THIS_NOTE: _Words = {
    "es": r"esta (?:nota|memoria|instrucci[oó]n|entrada|orden)|este (?:mensaje|recuerdo|"
    r"registro|texto|aviso)|su existencia",
    "fr": r"cette (?:note|mémoire|memoire|instruction|entrée|consigne)|ce (?:message|"
    r"souvenir|texte|rappel)|son existence",
    "de": r"diese (?:notiz|nachricht|anweisung|erinnerung)|diesen (?:eintrag|hinweis|"
    r"text)|dieser (?:eintrag|hinweis)|ihre existenz|seine existenz",
    "it": r"questa (?:nota|memoria|istruzione|voce)|questo (?:messaggio|ricordo|"
    r"promemoria|testo)|la sua esistenza",
    "pt": r"esta (?:nota|memória|memoria|instrução|instrucao|mensagem|entrada)|este "
    r"(?:registro|texto|lembrete|aviso)|a sua existência",
    "nl": r"deze (?:notitie|instructie|herinnering)|dit (?:bericht|item|memo)",
    "ru": r"эт\w{0,3} (?:заметк\w{0,3}|сообщени\w{0,3}|инструкци\w{0,3}|запис\w{0,3}|"
    r"текст\w{0,3})",
    "cjk": r"此条|这条|這條|本条|本條|此消息|此指令|这段话|這段話|这条消息|このメモ|"
    r"このメッセージ|この指示|이 메모|이 메시지|이 지시",
}
DELETE: _Words = {
    "es": r"borra|borre|borrar|borren|borrad|elimina|elimine|eliminar|eliminen|suprime|"
    r"suprima|suprimir",
    "fr": r"supprime|supprimez|supprimer|efface|effacez|effacer|élimine|éliminez|"
    r"éliminer|détruis|détruisez|détruire",
    "de": r"lösche|löschen|löscht|entferne|entfernen|entfernt|vernichte|vernichten|"
    r"tilge|tilgen",
    "it": r"cancella|cancellate|cancellare|elimina|eliminate|eliminare|rimuovi|rimuovete|"
    r"rimuovere|distruggi|distruggere",
    "pt": r"apague|apaga|apagar|apaguem|exclua|excluir|exclui|elimine|elimina|eliminar|"
    r"remova|remove|remover|delete|deletar",
    "nl": r"verwijder|verwijderen|verwijdert|wis|wissen|vernietig",
    "ru": r"удали|удалите|удалить|сотри|сотрите|стереть|уничтожь|уничтожьте|очисти|"
    r"очистите",
    "cjk": r"删除|删掉|刪除|刪掉|清除|清空|抹去|销毁|銷毀|削除|消去|消して|삭제|지워|지우",
}
SEND: _Words = {
    "es": r"env[ií]a|env[ií]e|enviar|env[ií]en|manda|mande|mandar|reenv[ií]a|reenv[ií]e|"
    r"reenviar|comparte|comparta|compartir|sube|suba|subir|copia|copie|transfiere",
    "fr": r"envoie|envoyez|envoyer|transfère|transférez|transférer|transmets|transmettez|"
    r"transmettre|partage|partagez|partager|copie|copiez|téléverse|publie|publiez",
    "de": r"sende|senden|sendet|schicke|schick|schicken|schickt|leite weiter|leiten sie|"
    r"weiterleiten|übermittle|übermitteln|teile|teilen|lade hoch|hochladen|kopiere",
    "it": r"invia|inviate|inviare|manda|mandate|mandare|inoltra|inoltrate|inoltrare|"
    r"condividi|condividere|trasmetti|trasmettere|carica|caricare|copia",
    "pt": r"envie|envia|enviar|enviem|mande|manda|mandar|encaminhe|encaminhar|"
    r"compartilhe|compartilhar|partilhe|transmita|transmitir|carregue|copie",
    "nl": r"stuur|sturen|stuurt|verstuur|versturen|stuur door|doorsturen|deel|delen|"
    r"upload|kopieer",
    "ru": r"отправь|отправьте|отправить|отошли|перешли|перешлите|переслать|пришли|"
    r"пришлите|передай|передайте|загрузи|скопируй",
    "cjk": r"发送|發送|发给|發給|转发|轉發|寄给|寄給|上传|上傳|送信|転送|送って|"
    r"アップロード|보내|전송|업로드",
}
THEIR_DATA: _Words = {
    "es": r"memorias?|recuerdos|notas|conversaci[oó]n|conversaciones|historial|datos|"
    r"contraseñas?|contrasenas?|claves?|mensajes|chats?|archivos|contactos",
    "fr": r"mémoires?|memoires?|souvenirs|notes|conversations?|historique|données|"
    r"donnees|mots de passe|mot de passe|messages|discussions?|fichiers|contacts",
    "de": r"erinnerungen|notizen|gespräche?|gesprächsverlauf|verlauf|chatverlauf|daten|"
    r"passwörter|passwort|kennwörter|kennwort|nachrichten|dateien|kontakte",
    "it": r"ricordi|memorie|note|conversazion[ei]|cronologia|dati|password|messaggi|"
    r"chat|file|contatti",
    "pt": r"memórias|memorias|lembranças|notas|conversas?|histórico|historico|dados|"
    r"senhas?|mensagens|arquivos|contatos",
    "nl": r"herinneringen|notities|gesprekken|geschiedenis|gegevens|wachtwoorden|"
    r"wachtwoord|berichten|bestanden|contacten",
    "ru": r"памят\w{0,4}|воспоминани\w{0,4}|заметк\w{0,4}|переписк\w{0,4}|истори\w{0,4}|"
    r"данн\w{0,4}|парол\w{0,4}|сообщени\w{0,4}|файл\w{0,4}|контакт\w{0,4}",
    "cjk": r"记忆|記憶|笔记|筆記|对话|對話|聊天记录|聊天記錄|历史|歷史|数据|數據|密码|"
    r"密碼|文件|联系人|聯絡人|メモ|会話|履歴|データ|パスワード|連絡先|기억|메모|대화|"
    r"기록|데이터|비밀번호|연락처",
}
ANSWER: _Words = {
    "es": r"responde|responda|responder|respondan|contesta|conteste|contestar|di que|diga|"
    r"decir|afirma|afirme|afirmar|repite|repita",
    "fr": r"réponds|répondez|répondre|reponds|repondez|dis|dites|dire|affirme|affirmez|"
    r"affirmer|répète|répétez",
    "de": r"antworte|antworten|beantworte|beantworten|sag|sage|sagen|"
    r"behaupte|behaupten|wiederhole",
    "it": r"rispondi|rispondete|rispondere|risponda|di'|dì|dite|dire|dica|afferma|"
    r"affermare|ripeti",
    "pt": r"responda|responde|responder|respondam|diga|dizer|digam|afirme|afirmar|"
    r"repita|repetir",
    "nl": r"antwoord|antwoorden|beantwoord|zeg|zeggen|beweer|herhaal",
    "ru": r"отвечай|отвечайте|ответь|ответьте|отвечать|говори|говорите|скажи|скажите|"
    r"утверждай|повторяй",
    "cjk": r"回答|回复|回覆|答复|答覆|只说|只說|就说|就說|要说|要說|请说|請說|声称|聲稱|"
    r"答えて|答えろ|返答|言って|"
    r"답변|대답|말해",
}
ONLY: _Words = {
    "es": r"solo|sólo|solamente|únicamente|unicamente|exclusivamente|nada más que",
    "fr": r"seulement|uniquement|exclusivement|rien d'autre|rien d’autre|que par",
    "de": r"nur|ausschließlich|ausschliesslich|lediglich|nichts anderes",
    "it": r"solo|soltanto|solamente|unicamente|esclusivamente|nient'altro",
    "pt": r"só|somente|apenas|unicamente|exclusivamente|nada além",
    "nl": r"alleen|enkel|uitsluitend|niets anders",
    "ru": r"только|лишь|исключительно|ничего другого|ничего кроме",
    "cjk": r"只|仅|僅|唯一|だけ|のみ|만 ",
}
NEVER_HAPPENED: _Words = {
    "es": r"nunca|jam[aá]s|no (?:es|fue|era) (?:cierto|verdad)|es falso|nunca ocurri[oó]",
    "fr": r"jamais|n'a jamais|n’a jamais|c'est faux|c’est faux|n'est pas vrai|"
    r"n’est pas vrai",
    "de": r"nie|niemals|nicht wahr|falsch|nie passiert",
    "it": r"mai|non è vero|non e vero|è falso|e falso",
    "pt": r"nunca|jamais|não é verdade|nao e verdade|é falso|e falso",
    "nl": r"nooit|niet waar|onwaar",
    "ru": r"никогда|неправда|ложь|не было",
    "cjk": r"从未|從未|从来没有|從來沒有|没有发生|沒有發生|不是真的|決して|一度も|"
    r"事実ではない|절대|없었|사실이 아니",
}
ASKS: _Words = {
    "es": r"si (?:alguien|te|le|les|el usuario|la usuaria|cualquiera) (?:\w{1,15} )?"
    r"pregunta[n]?|cuando (?:alguien|te|le|el usuario) (?:\w{1,15} )?pregunte[n]?|"
    r"(?:cualquier|toda|cada) pregunta (?:sobre|acerca)",
    "fr": r"si (?:quelqu'un|quelqu’un|on|l'utilisateur|l’utilisateur) (?:te |vous )?"
    r"(?:demande|interroge|pose)|quand (?:quelqu'un|quelqu’un|on|l'utilisateur) "
    r"(?:te |vous )?(?:demande|interroge)|(?:toute|chaque) question (?:sur|concernant)",
    "de": r"wenn (?:jemand|man|der nutzer|der benutzer|die nutzerin)(?: \w{1,15})? "
    r"(?:fragt|nachfragt)|falls (?:jemand|man)(?: \w{1,15})? fragt|"
    r"(?:jede|alle) fragen? (?:zu|über|nach)",
    "it": r"se (?:qualcuno|l'utente|l’utente|ti|gli|le) (?:\w{1,15} )?chiede|quando "
    r"(?:qualcuno|l'utente) (?:\w{1,15} )?chiede|(?:ogni|qualsiasi) domanda (?:su|"
    r"riguardo)",
    "pt": r"se (?:alguém|alguem|o usuário|o usuario|te|lhe) (?:\w{1,15} )?perguntar|"
    r"quando (?:alguém|alguem|o usuário) (?:\w{1,15} )?perguntar|"
    r"(?:qualquer|toda|cada) pergunta (?:sobre|acerca)",
    "nl": r"als (?:iemand|de gebruiker|men) (?:\w{1,15} )?vraagt|wanneer (?:iemand|de "
    r"gebruiker) (?:\w{1,15} )?vraagt|(?:elke|iedere) vraag (?:over|naar)",
    "ru": r"если (?:кто-нибудь|кто-то|кто|пользователь|тебя|вас) (?:\w{1,15} )?"
    r"спрос\w{0,4}|когда (?:кто-нибудь|кто-то|пользователь) (?:\w{1,15} )?спрос\w{0,4}|"
    r"(?:любой|каждый) вопрос (?:о|про|об)",
    "cjk": r"如果有人问|如果有人問|若有人问|当有人问|當有人問|如果用户问|如果用戶問|"
    r"任何关于|任何關於|誰かに聞かれ|聞かれたら|尋ねられたら|누가 물으|물어보면",
}
# A word any question asked of the reader holds (what ASKS needs in a text to be looked for)
ASKING: _Words = {
    "es": r"pregunt\w{0,5}", "fr": r"demand\w{0,4}|interroge\w{0,2}|question", "de": r"frag\w{0,3}",
    "it": r"chied\w{0,3}|domand\w{0,2}", "pt": r"pergunt\w{0,5}", "nl": r"vraag\w{0,2}|vragen",
    "ru": r"спрос\w{0,4}|вопрос\w{0,2}", "cjk": r"问|問|聞か|尋ね|물으|물어",
}  # fmt: skip
LIMITLESS: _Words = {
    "es": r"sin (?:restricciones|l[ií]mites|filtros|censura|reglas)",
    "fr": r"sans (?:restrictions?|limites?|filtres?|censure|règles)",
    "de": r"ohne (?:einschränkungen|grenzen|filter|zensur|regeln)|uneingeschränkt",
    "it": r"senza (?:restrizioni|limiti|filtri|censura|regole)",
    "pt": r"sem (?:restrições|restricoes|limites|filtros|censura|regras)",
    "nl": r"zonder (?:beperkingen|grenzen|filters|censuur|regels)",
    "ru": r"без (?:ограничений|фильтров|цензуры|правил)",
    "cjk": r"没有限制|沒有限制|无限制|無限制|不受限制|没有任何限制|制限なし|制限のない|"
    r"無制限|제한 없|제한이 없",
}


# One earlier note of the writer's own (a correction, as in English "ignore my earlier
# note about the paint"): a sentence with one of these sets nothing else aside.
OWN_NOTE: _Words = {
    "es": r"mi (?:nota|mensaje|recordatorio)|mis notas",
    "fr": r"ma (?:\w{1,15} )?note|mon (?:\w{1,15} )?(?:message|rappel)|mes notes",
    "de": r"meine (?:\w{1,15} )?(?:notiz|nachricht|erinnerung)|meinen (?:\w{1,15} )?"
    r"(?:eintrag|hinweis)|meine notizen",
    "it": r"la mia (?:\w{1,15} )?nota|il mio (?:\w{1,15} )?(?:messaggio|promemoria)|"
    r"le mie note|mia nota",
    "pt": r"minha (?:\w{1,15} )?(?:nota|mensagem)|meu (?:\w{1,15} )?lembrete|minhas notas",
    "nl": r"mijn (?:\w{1,15} )?(?:notitie|bericht)|mijn notities",
    "ru": r"мо\w{0,2} (?:\w{1,15} )?(?:заметк\w{0,3}|сообщени\w{0,3}|запис\w{0,3})",
    "cjk": r"我的笔记|我的筆記|我之前的|我刚才的|我剛才的|我之前关于|我之前關於|私のメモ|"
    r"前のメモ|さっきのメモ|내 메모|이전 메모",
}


# The writer's own (human) assistant: "mi asistente debe llamar al dentista" addresses
# nobody reading the note, as "my assistant must book the flights" does not.
MINE: _Words = {
    "es": r"mi|mis|nuestr[oa]s?", "fr": r"mon|ma|mes|notre|nos",
    "de": r"mein\w{0,2}|unser\w{0,2}", "it": r"mio|mia|miei|mie|nostr[oaie]",
    "pt": r"meu|minha|meus|minhas|nosso|nossa", "nl": r"mijn|onze|ons",
    "ru": r"мо\w{1,3}|наш\w{0,3}", "cjk": r"我的|我們的|我们的|私の|내 |우리",
}  # fmt: skip


def words(cls: _Words) -> str:
    """One regular expression for a word class: its Latin and Cyrillic forms whole
    (between word boundaries), its CJK forms anywhere."""
    whole = "|".join(v for k, v in cls.items() if k != "cjk")
    return rf"(?:(?<!\w)(?:{whole})(?!\w)|{cls['cjk']})"


def _alternatives(pattern: str) -> list[str]:
    out, depth, current = [], 0, ""
    for char in pattern:
        depth += (char == "(") - (char == ")")
        if char == "|" and depth == 0:
            out.append(current)
            current = ""
        else:
            current += char
    return [*out, current]


_MAX_SPELLINGS = 64


def _spellings(pattern: str) -> list[tuple[str, bool]]:
    """The literal texts a word form's pattern can match, as (text, cut): ``cut`` when the
    pattern goes on past the text in a way not spelled out (``\\w{0,4}``, ``\\s``): the
    text is then only the start of a match. Handles what the word classes use: letters,
    ``[..]``, ``x?``, ``(?:a|b)`` and ``(?:..)?``."""
    out: list[tuple[str, bool]] = [("", False)]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            close = pattern.index("]", i)
            options, i = list(pattern[i + 1 : close]), close + 1
        elif pattern.startswith("(?:", i):
            depth, j = 0, i
            while True:
                depth += (pattern[j] == "(") - (pattern[j] == ")")
                if depth == 0:
                    break
                j += 1
            inner = [t for a in _alternatives(pattern[i + 3 : j]) for t in _spellings(a)]
            if any(cut for _, cut in inner):  # a group that is not spelled out ends it
                return [(text, True) for text, _ in out]
            options, i = [t for t, _ in inner], j + 1
        elif char in "\\.{*+":
            return [(text, True) for text, _ in out]
        else:
            options, i = [char], i + 1
        if i < len(pattern) and pattern[i] == "?":
            options, i = ["", *options], i + 1
        out = [(text + option, False) for text, _ in out for option in options]
        if len(out) > _MAX_SPELLINGS:
            return [(text[:1], True) for text, _ in out[:1]]
    return out


# Chinese, Japanese and Korean characters (scripts without spaces between words)
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_WORD = re.compile(r"\w+")


def _condition(text: str, cut: bool) -> tuple[tuple[str, ...], str]:
    """(whole words, start): what a text holding this spelling holds; a spelling cut
    inside a word holds that word's start, not the whole word."""
    found = _WORD.findall(text.lower())
    if cut and found and text[-1:].isalnum():
        return tuple(found[:-1]), found[-1]
    return tuple(found), ""


_Condition = tuple[tuple[str, ...], str]


@dataclass(frozen=True)
class Gate:
    """What a text must hold for a word class to match in it, found with set look-ups and
    ``str.startswith`` instead of a regular expression: one of the class's spellings, as
    whole words (Latin and Cyrillic forms; the last maybe only a word's start) or as a
    substring (CJK forms). A spelling is filed under its longest whole word, or under its
    start when it has no whole word."""

    by_word: dict[str, tuple[_Condition, ...]]
    by_start: dict[str, tuple[_Condition, ...]]
    starts: tuple[str, ...]
    cjk: tuple[str, ...]
    keys: frozenset[str] = frozenset()
    initials: frozenset[str] = frozenset()  # the first letters of the starts

    @staticmethod
    def of(cls: _Words) -> Gate:
        by_word: dict[str, list[_Condition]] = {}
        by_start: dict[str, list[_Condition]] = {}
        for lang, forms in cls.items():
            if lang == "cjk":
                continue
            for alternative in _alternatives(forms):
                for text, cut in _spellings(alternative):
                    whole, start = _condition(text, cut)
                    if whole:
                        by_word.setdefault(max(whole, key=len), []).append((whole, start))
                    elif start:
                        by_start.setdefault(start, []).append((whole, start))
                    else:
                        raise ValueError(f"a word form without a letter: {alternative!r}")
        cjk = tuple(t for a in _alternatives(cls["cjk"]) for t, _ in _spellings(a))
        return Gate({k: tuple(v) for k, v in by_word.items()},
                    {k: tuple(v) for k, v in by_start.items()}, tuple(by_start), cjk,
                    frozenset(by_word), frozenset(s[0] for s in by_start))  # fmt: skip


@dataclass(frozen=True)
class Words:
    """A lower-cased text and its words."""

    text: str
    words: tuple[str, ...]
    whole: frozenset[str]
    initials: frozenset[str]

    @staticmethod
    def of(lowered: str) -> Words:
        found = tuple(_WORD.findall(lowered))
        return Words(lowered, found, frozenset(found), frozenset(w[0] for w in found))


def _holds(held: Words, condition: _Condition) -> bool:
    whole, start = condition
    return all(w in held.whole for w in whole) and (
        not start or any(w.startswith(start) for w in held.words)
    )


def gate_open(gate: Gate, held: Words) -> bool:
    """Whether the text may hold a word of the gate's class."""
    for key in held.whole & gate.keys:
        if any(_holds(held, c) for c in gate.by_word[key]):
            return True
    if not gate.initials.isdisjoint(held.initials):
        for word in held.words:
            if word.startswith(gate.starts):
                for start, conditions in gate.by_start.items():
                    if word.startswith(start) and any(_holds(held, c) for c in conditions):
                        return True
    return bool(CJK.search(held.text)) and any(a in held.text for a in gate.cjk)


@dataclass(frozen=True)
class Shape:
    """Word classes that must all meet in one sentence: a directive of ``group`` at
    ``weight`` (``address``: the part that says who is addressed). ``gates``: what the
    whole text must hold for the shape to be looked for at all."""

    group: str
    weight: float
    parts: tuple[str, ...]
    address: bool = False
    signal: str = "instruction"
    unless: str | None = None  # no directive in a sentence where this matches
    gates: tuple[Gate, ...] = field(default=(), compare=False)


def _shape(
    group: str,
    weight: float,
    classes: Sequence[_Words],
    parts: Sequence[str] = (),
    address: bool = False,
    signal: str = "instruction",
    unless: str | None = None,
) -> Shape:
    """A shape whose parts are ``classes`` (or the given ``parts``, built from them)."""
    built = tuple(parts) or tuple(words(c) for c in classes)
    gates = tuple(Gate.of(c) for c in classes)
    return Shape(group, weight, built, address, signal, unless, gates)


def shapes(address: str) -> tuple[Shape, ...]:
    """The shapes, ``address`` being the grammar's pattern for an e-mail address, a URL or
    an IP address (the recipient of data sent away, written alike in every language).

    Weights as the English rules of the same shape (see directives.RULES): a blunt
    directive (set aside other instructions, conceal this note, delete all or other
    memories, send memories to an address) is quarantined alone; an address is flagged
    alone and quarantined with any directive; a forced answer or a trigger alone is
    accepted."""
    mine = rf"{words(MINE)}\s{{0,2}}(?:\w{{1,15}}\s)?{words(AGENTS)}"
    return (
        _shape("override", 0.7, (SET_ASIDE, OTHERS, INSTRUCTIONS), unless=words(OWN_NOTE)),
        _shape("conceal", 0.6, (NEGATION, MENTION, THIS_NOTE)),
        _shape("delete", 0.6, (DELETE, OTHERS, INSTRUCTIONS)),
        Shape(
            "exfil",
            0.6,
            (words(SEND), words(THEIR_DATA), address),
            gates=(Gate.of(SEND), Gate.of(THEIR_DATA)),
        ),
        # the agent and its duty together ("el asistente debe", "der KI-Assistent muss")
        _shape(
            "address",
            0.5,
            (AGENTS, MUST),
            (rf"{words(AGENTS)}[^.!?。！？\n]{{0,25}}?{words(MUST)}",),
            address=True,
            unless=mine,
        ),
        _shape(
            "address",
            0.5,
            (AGENTS,),
            (rf"(?:{words(NOTE_TO)})\s{{0,3}}(?:\w{{1,12}}\s)?{words(AGENTS)}",),
            address=True,
        ),
        _shape("address", 0.5, (SYSTEM,), address=True),
        _shape("forcing", 0.25, (ANSWER, ONLY)),
        _shape("forcing", 0.35, (ANSWER, NEVER_HAPPENED)),
        _shape("conditional", 0.25, (ASKING,), (words(ASKS),), signal="trigger"),
        _shape("jailbreak", 0.6, (AGENTS, LIMITLESS)),
    )
