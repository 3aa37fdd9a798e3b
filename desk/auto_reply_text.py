"""What the support mailbox's automatic confirmation says, in the languages the drafts cover.

The playbook's e-mail process starts with "Email received -> Auto-reply confirmation"; its
tone is thanks first, an honest timeline, and the troubleshooting questions asked up front so
the person who answers need not ask them again. Nothing the sender wrote is quoted: the only
text of theirs in the reply is its (redacted) subject line. A security or privacy report is
told of the playbook's 4-hour target (in place of the business-day timeline) and asked not
to mail secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

SECURITY_TARGET = "4"  # hours: the playbook's e-mail target for security issues


@dataclass(frozen=True)
class Confirmation:
    greeting: str
    received: str
    timeline: str
    security: str  # with {hours}
    details: str
    thanks: str
    automatic: str

    def render(self, *, security: bool) -> str:
        """A security report is told the security target *instead of* the business-day
        timeline: one promise per note, the one that applies."""
        timeline = self.security.format(hours=SECURITY_TARGET) if security else self.timeline
        paragraphs = [self.greeting, self.received, timeline, self.details, self.thanks]
        paragraphs.append(self.automatic)
        return "\n\n".join(paragraphs) + "\n"


CONFIRMATIONS: dict[str, Confirmation] = {
    "en": Confirmation(
        greeting="Hello,",
        received=(
            "Thank you for writing to Caro support: your message has reached us, and this "
            "automatic note is here to say so."
        ),
        timeline="A member of the team will read it and reply within one business day.",
        security=(
            "Your message looks like a security or privacy report, so it has been passed to "
            "the engineers at once. We aim to answer security reports within {hours} hours, "
            "day or night. Please do not send passwords, keys or tokens by e-mail: we will "
            "ask for what we need."
        ),
        details=(
            "If you can, reply to this e-mail with anything that helps us reproduce the "
            "problem: your Caro version (`caro --version`), your platform (`uname -a`) and "
            "the command you ran. Your reply joins this same conversation."
        ),
        thanks="Thanks for helping make Caro better!\nThe Caro support team",
        automatic="(This reply was sent automatically, at most once a day per conversation.)",
    ),
    "es": Confirmation(
        greeting="Hola:",
        received=(
            "Gracias por escribir al soporte de Caro: tu mensaje nos ha llegado, y esta nota "
            "automática está aquí para confirmarlo."
        ),
        timeline="Una persona del equipo lo leerá y te responderá en un día laborable.",
        security=(
            "Tu mensaje parece un informe de seguridad o privacidad, así que lo hemos pasado "
            "de inmediato a los ingenieros. Nuestro objetivo es responder a los informes de "
            "seguridad en menos de {hours} horas, de día o de noche. Por favor, no envíes "
            "contraseñas, claves ni tokens por correo: te pediremos lo que necesitemos."
        ),
        details=(
            "Si puedes, responde a este correo con lo que nos ayude a reproducir el problema: "
            "tu versión de Caro (`caro --version`), tu plataforma (`uname -a`) y el comando "
            "que ejecutaste. Tu respuesta se sumará a esta misma conversación."
        ),
        thanks="¡Gracias por ayudarnos a mejorar Caro!\nEl equipo de soporte de Caro",
        automatic="(Esta respuesta se envió automáticamente, como mucho una vez al día por "
        "conversación.)",
    ),
    "pt": Confirmation(
        greeting="Olá,",
        received=(
            "Obrigado por escrever ao suporte do Caro: sua mensagem chegou até nós, e esta "
            "nota automática está aqui para confirmar."
        ),
        timeline="Uma pessoa da equipe vai lê-la e responder em até um dia útil.",
        security=(
            "Sua mensagem parece ser um relato de segurança ou privacidade, por isso foi "
            "encaminhada imediatamente aos engenheiros. Nossa meta é responder relatos de "
            "segurança em até {hours} horas, de dia ou de noite. Por favor, não envie senhas, "
            "chaves ou tokens por e-mail: pediremos o que for necessário."
        ),
        details=(
            "Se puder, responda a este e-mail com o que nos ajude a reproduzir o problema: "
            "sua versão do Caro (`caro --version`), sua plataforma (`uname -a`) e o comando "
            "que você executou. Sua resposta entra nesta mesma conversa."
        ),
        thanks="Obrigado por ajudar a melhorar o Caro!\nEquipe de suporte do Caro",
        automatic="(Esta resposta foi enviada automaticamente, no máximo uma vez por dia em "
        "cada conversa.)",
    ),
    "fr": Confirmation(
        greeting="Bonjour,",
        received=(
            "Merci d'avoir écrit au support de Caro : votre message nous est bien parvenu, "
            "et ce message automatique est là pour vous le confirmer."
        ),
        timeline="Une personne de l'équipe va le lire et vous répondre sous un jour ouvré.",
        security=(
            "Votre message ressemble à un signalement de sécurité ou de confidentialité : il "
            "a donc été transmis immédiatement aux ingénieurs. Nous visons une réponse sous "
            "{hours} heures pour les signalements de sécurité, de jour comme de nuit. Merci de "
            "ne pas envoyer de mots de passe, de clés ni de jetons par e-mail : nous vous "
            "demanderons ce dont nous avons besoin."
        ),
        details=(
            "Si possible, répondez à cet e-mail avec ce qui nous aidera à reproduire le "
            "problème : votre version de Caro (`caro --version`), votre plateforme "
            "(`uname -a`) et la commande exécutée. Votre réponse rejoindra cette même "
            "conversation."
        ),
        thanks="Merci de nous aider à améliorer Caro !\nL'équipe support de Caro",
        automatic="(Cette réponse a été envoyée automatiquement, au plus une fois par jour et "
        "par conversation.)",
    ),
    "de": Confirmation(
        greeting="Hallo,",
        received=(
            "danke, dass Sie dem Caro-Support geschrieben haben: Ihre Nachricht ist bei uns "
            "angekommen, und diese automatische Antwort bestätigt das."
        ),
        timeline="Jemand aus dem Team wird sie lesen und innerhalb eines Werktags antworten.",
        security=(
            "Ihre Nachricht sieht nach einer Sicherheits- oder Datenschutzmeldung aus, deshalb "
            "haben wir sie sofort an die Entwickler weitergegeben. Auf Sicherheitsmeldungen "
            "antworten wir möglichst innerhalb von {hours} Stunden, bei Tag und Nacht. Bitte "
            "senden Sie keine Passwörter, Schlüssel oder Tokens per E-Mail: Wir fragen nach, "
            "was wir brauchen."
        ),
        details=(
            "Wenn möglich, antworten Sie auf diese E-Mail mit allem, was uns hilft, das "
            "Problem nachzustellen: Ihre Caro-Version (`caro --version`), Ihre Plattform "
            "(`uname -a`) und den Befehl, den Sie ausgeführt haben. Ihre Antwort landet in "
            "derselben Unterhaltung."
        ),
        thanks="Danke, dass Sie helfen, Caro besser zu machen!\nDas Caro-Support-Team",
        automatic="(Diese Antwort wurde automatisch gesendet, höchstens einmal am Tag pro "
        "Unterhaltung.)",
    ),
    "ru": Confirmation(
        greeting="Здравствуйте!",
        received=(
            "Спасибо, что написали в поддержку Caro: ваше сообщение получено, и это "
            "автоматическое письмо подтверждает это."
        ),
        timeline="Кто-то из команды прочитает его и ответит в течение одного рабочего дня.",
        security=(
            "Похоже, ваше сообщение касается безопасности или конфиденциальности, поэтому мы "
            "сразу передали его инженерам. На сообщения о безопасности мы стараемся ответить "
            "в течение {hours} часов, днём и ночью. Пожалуйста, не присылайте по почте пароли, "
            "ключи или токены: мы сами спросим, что нужно."
        ),
        details=(
            "Если можете, ответьте на это письмо и добавьте то, что поможет воспроизвести "
            "проблему: версию Caro (`caro --version`), платформу (`uname -a`) и команду, "
            "которую вы запускали. Ваш ответ попадёт в эту же переписку."
        ),
        thanks="Спасибо, что помогаете сделать Caro лучше!\nКоманда поддержки Caro",
        automatic="(Это письмо отправлено автоматически, не чаще одного раза в день на одну "
        "переписку.)",
    ),
    "zh": Confirmation(
        greeting="您好，",
        received="感谢您联系 Caro 支持团队：我们已收到您的邮件，这是一封自动确认信。",
        timeline="团队成员会阅读您的邮件，并在一个工作日内回复。",
        security=(
            "您的邮件看起来是安全或隐私问题报告，我们已立即转交给工程师。对于安全报告，"
            "我们的目标是在 {hours} 小时内回复，无论白天还是夜间。请不要通过邮件发送密码、"
            "密钥或令牌；如有需要，我们会向您询问。"
        ),
        details=(
            "如果方便，请回复此邮件，并提供有助于我们复现问题的信息：您的 Caro 版本"
            "（`caro --version`）、您的平台（`uname -a`）以及您运行的命令。"
            "您的回复会归入同一对话。"
        ),
        thanks="感谢您帮助我们改进 Caro！\nCaro 支持团队",
        automatic="（此邮件为自动发送，每个对话每天最多一次。）",
    ),
    "ja": Confirmation(
        greeting="こんにちは。",
        received=(
            "Caro サポートへのご連絡ありがとうございます。メールは確かに受け取りました。"
            "これはその確認のための自動返信です。"
        ),
        timeline="チームの担当者が内容を確認し、1営業日以内にお返事します。",
        security=(
            "このメッセージはセキュリティまたはプライバシーに関する報告のようですので、"
            "すぐにエンジニアへ引き継ぎました。セキュリティの報告には、昼夜を問わず"
            "{hours}時間以内の回答を目標としています。パスワード、鍵、トークンはメールで"
            "送らないでください。必要なものはこちらからお尋ねします。"
        ),
        details=(
            "可能でしたら、問題の再現に役立つ情報をこのメールへの返信でお知らせください："
            "Caro のバージョン（`caro --version`）、プラットフォーム（`uname -a`）、"
            "実行したコマンド。返信は同じ会話にまとめられます。"
        ),
        thanks="Caro の改善にご協力いただきありがとうございます。\nCaro サポートチーム",
        automatic="（この返信は自動送信です。1つの会話につき1日1回までお送りします。）",
    ),
}
DEFAULT_LANGUAGE = "en"


def confirmation_text(language: str | None, *, security: bool) -> tuple[str, str]:
    """(the language used, the body): the writer's language when there is a text in it,
    else English."""
    used = language if language in CONFIRMATIONS else DEFAULT_LANGUAGE
    return used, CONFIRMATIONS[used].render(security=security)
