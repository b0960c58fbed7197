import { type Html, html } from './html.js';
import type { PageLanguage } from './urls.js';

/**
 * The security page's words, written for each language on its own (not translated line by
 * line). Functions take what the operator configured, already as safe HTML.
 */
export interface PageText {
  /** The language's own name, for the language switch. */
  languageName: string;
  title: string;
  skipLink: string;
  languageNavLabel: string;
  lead(origin: Html): Html;
  sends: {
    heading: string;
    emailHeading: string;
    email(origin: Html): Html;
    smsHeading: string;
    sms(origin: Html): Html;
    letterHeading: string;
    letter(origin: Html): Html;
  };
  never: { heading: string; intro: string; items: readonly string[] };
  staySafe: { heading: string; items(origin: Html): readonly Html[] };
  contact: {
    heading: string;
    text(contact: Html): Html;
    keyText(keyLink: Html, fingerprint: Html): Html;
    keyLinkText: string;
    fingerprintLabel: string;
  };
  report: {
    heading: string;
    intro: string;
    byEmail(contact: Html, keyLink: Html): Html;
    formLabel: string;
    formHint: string;
    submit: string;
    encrypting: string;
    sent: string;
    receiptLabel: string;
    failed: string;
  };
  policy: {
    heading: string;
    intro: string;
    askItems: readonly string[];
    promiseItems: readonly string[];
    askHeading: string;
    promiseHeading: string;
  };
  channels: { heading: string; intro: string; none: string };
  hallOfFame: { heading: string; intro: string; empty: string };
  footer(origin: Html): Html;
}

const nb: PageText = {
  languageName: 'Bokmål',
  title: 'Sikkerhet i Kuvert',
  skipLink: 'Hopp til innholdet',
  languageNavLabel: 'Språk',
  lead: (origin) =>
    html`<p class="lead">Svindlere lager falske e-poster og SMS-er som ligner på varsler fra digitale postkasser. Her ser du hva ekte meldinger fra Kuvert inneholder, hva vi aldri gjør, og hvordan du når sikkerhetsteamet vårt. Kuvert finner du bare på ${origin}.</p>`,
  sends: {
    heading: 'Dette sender Kuvert deg',
    emailHeading: 'E-post',
    email: (origin) =>
      html`<p>Når du har fått et nytt brev, får du en kort e-post om det. Den sier hvem brevet er fra – er brevet sensitivt, står ikke engang det. E-posten har én lenke, og den går til ${origin}. Har du valgt en egen sikkerhetsfrase, står den i hver e-post fra oss, så du kan kjenne igjen ekte varsler.</p>`,
    smsHeading: 'SMS',
    sms: (origin) =>
      html`<p>Har du slått på SMS-varsel, får du en kort melding om at det ligger post til deg. Den har heller ikke annet enn en lenke til ${origin}. Vi sender ikke SMS om natten; varselet kommer om morgenen.</p>`,
    letterHeading: 'Brev',
    letter: (origin) =>
      html`<p>Selve brevene og dokumentene ligger bare i postkassen din på ${origin}. Du leser dem etter at du har logget inn. Vi sender dem aldri som vedlegg, og vi sender ikke papirbrev som ber deg logge inn eller gi oss opplysninger.</p>`,
  },
  never: {
    heading: 'Dette gjør vi aldri',
    intro: 'Får du en melding som gjør noe av dette, er den ikke fra Kuvert:',
    items: [
      'Vi ber deg aldri om passordfrasen din eller koden fra autentiseringsappen – ikke på e-post, ikke på SMS og ikke på telefon.',
      'Vi ber deg aldri om fødselsnummer, kontonummer eller andre personopplysninger i en e-post eller SMS.',
      'Vi legger aldri ved filer. Dokumenter åpner du bare i postkassen.',
      'Vi lenker aldri til andre nettsteder enn vår egen adresse, og vi forkorter aldri lenker.',
      'Vi ber deg aldri installere et program eller gi noen fjerntilgang til maskinen din.',
    ],
  },
  staySafe: {
    heading: 'Slik holder du deg trygg',
    items: (origin) => [
      html`<li>Se på adressen før du logger inn. Den skal begynne nøyaktig med ${origin}. Er du i tvil, skriv adressen selv eller bruk et bokmerke i stedet for å trykke på lenken.</li>`,
      html`<li>Hold datamaskin, telefon og nettleser oppdatert. Oppdateringene tetter hull som svindlere bruker.</li>`,
      html`<li>Bruk en lang passordfrase, gjerne fire–fem vanlige ord som bare du setter sammen, og bruk den ikke noe annet sted.</li>`,
      html`<li>Har du trykket på en lenke du ikke stoler på, eller gitt fra deg koden din? Bytt passordfrase med en gang og si fra til oss.</li>`,
    ],
  },
  contact: {
    heading: 'Kontakt sikkerhetsteamet',
    text: (contact) =>
      html`<p>Har du funnet et sikkerhetshull, eller fått en melding som later som den er fra Kuvert? Skriv til sikkerhetsteamet: ${contact}.</p>`,
    keyText: (keyLink, fingerprint) =>
      html`<p>Sender du noe sensitivt, krypter det med ${keyLink}. Sjekk at fingeravtrykket stemmer: ${fingerprint}.</p>`,
    keyLinkText: 'PGP-nøkkelen vår',
    fingerprintLabel: 'Fingeravtrykk',
  },
  report: {
    heading: 'Meld fra om et sikkerhetshull',
    intro:
      'Skriv rapporten her. Nettleseren din krypterer den med PGP-nøkkelen vår før den sendes, så bare sikkerhetsteamet kan lese den. Du får et kvitteringsnummer når vi har tatt imot rapporten.',
    byEmail: (contact, keyLink) =>
      html`<p>Virker ikke skjemaet, eller er JavaScript slått av? Krypter rapporten med ${keyLink} og send den på e-post til ${contact}.</p>`,
    formLabel: 'Rapporten din',
    formHint:
      'Fortell hva du fant, hvordan vi kan se det selv, og hvordan vi kan nå deg hvis vi har spørsmål.',
    submit: 'Krypter og send',
    encrypting: 'Krypterer og sender …',
    sent: 'Takk! Vi har tatt imot rapporten din.',
    receiptLabel: 'Kvitteringsnummer:',
    failed: 'Rapporten ble ikke sendt. Prøv igjen litt senere, eller send den på e-post.',
  },
  policy: {
    heading: 'Slik behandler vi varsler',
    intro:
      'Vi setter pris på at du sier fra. Følger du disse reglene i god tro, ser vi på undersøkelsen din som en hjelp og ikke som et angrep.',
    askHeading: 'Vi ber deg om å',
    askItems: [
      'gi oss rimelig tid til å rette feilen før du forteller andre om den – vanligvis 90 dager',
      'ikke lese, endre eller slette andres post eller opplysninger, utover det som trengs for å vise feilen',
      'ikke forstyrre tjenesten, lure brukerne eller de ansatte, eller sende søppelpost',
    ],
    promiseHeading: 'Vi lover å',
    promiseItems: [
      'svare deg innen tre virkedager og holde deg orientert mens vi retter feilen',
      'ikke gå rettens vei mot deg for undersøkelser som følger disse reglene',
      'takke deg ved navn i æreslisten nedenfor hvis du ønsker det',
    ],
  },
  channels: {
    heading: 'Offisielle kanaler',
    intro: 'Kuvert snakker bare med deg her. Andre kontoer som bruker navnet vårt, er ikke våre.',
    none: 'Kuvert har ingen andre offisielle kanaler enn denne nettsiden.',
  },
  hallOfFame: {
    heading: 'Takk til',
    intro: 'Disse har meldt fra om sikkerhetshull og gitt oss lov til å takke dem her.',
    empty: 'Ingen ennå. Kanskje blir du den første?',
  },
  footer: (origin) => html`<p>Kuvert – digital post, bare på ${origin}.</p>`,
};

const nn: PageText = {
  languageName: 'Nynorsk',
  title: 'Tryggleik i Kuvert',
  skipLink: 'Hopp til innhaldet',
  languageNavLabel: 'Språk',
  lead: (origin) =>
    html`<p class="lead">Svindlarar lagar falske e-postar og SMS-ar som liknar på varsel frå digitale postkassar. Her kan du sjå kva ekte meldingar frå Kuvert inneheld, kva vi aldri gjer, og korleis du når tryggleiksteamet vårt. Kuvert finn du berre på ${origin}.</p>`,
  sends: {
    heading: 'Dette sender Kuvert deg',
    emailHeading: 'E-post',
    email: (origin) =>
      html`<p>Når du har fått eit nytt brev, får du ein kort e-post om det. Han seier kven brevet er frå – men er brevet sensitivt, står ikkje eingong det der. E-posten har éi lenkje, og ho går til ${origin}. Har du valt ein eigen tryggleiksfrase, står han i kvar e-post frå oss, så du kjenner att dei ekte varsla.</p>`,
    smsHeading: 'SMS',
    sms: (origin) =>
      html`<p>Har du slått på SMS-varsel, får du ei kort melding om at det ligg post til deg. Ho har heller ikkje anna enn ei lenkje til ${origin}. Vi sender ikkje SMS om natta; varselet kjem om morgonen.</p>`,
    letterHeading: 'Brev',
    letter: (origin) =>
      html`<p>Sjølve breva og dokumenta ligg berre i postkassa di på ${origin}, og du les dei når du har logga inn. Vi sender dei aldri som vedlegg, og vi sender ikkje papirbrev som ber deg logge inn eller gje oss opplysningar.</p>`,
  },
  never: {
    heading: 'Dette gjer vi aldri',
    intro: 'Får du ei melding som gjer noko av dette, er ho ikkje frå Kuvert:',
    items: [
      'Vi spør deg aldri om passordfrasen din eller koden frå autentiseringsappen – korkje på e-post, SMS eller telefon.',
      'Vi spør deg aldri om fødselsnummer, kontonummer eller andre personopplysningar i ein e-post eller ein SMS.',
      'Vi legg aldri ved filer. Dokument opnar du berre i postkassa.',
      'Vi lenkjer aldri til andre nettstader enn vår eiga adresse, og vi kortar aldri ned lenkjer.',
      'Vi ber deg aldri installere eit program eller gje nokon fjerntilgang til maskina di.',
    ],
  },
  staySafe: {
    heading: 'Slik held du deg trygg',
    items: (origin) => [
      html`<li>Sjå på adressa før du loggar inn. Ho skal byrje nøyaktig med ${origin}. Er du i tvil, skriv adressa sjølv eller bruk eit bokmerke i staden for å trykkje på lenkja.</li>`,
      html`<li>Hald datamaskina, telefonen og nettlesaren oppdatert. Oppdateringane tettar hòl som svindlarar nyttar seg av.</li>`,
      html`<li>Bruk ein lang passordfrase, gjerne fire–fem vanlege ord som berre du set saman, og bruk han ikkje nokon annan stad.</li>`,
      html`<li>Har du trykt på ei lenkje du ikkje stoler på, eller gjeve frå deg koden din? Byt passordfrase med ein gong og sei frå til oss.</li>`,
    ],
  },
  contact: {
    heading: 'Kontakt tryggleiksteamet',
    text: (contact) =>
      html`<p>Har du funne eit tryggleikshòl, eller fått ei melding som gjev seg ut for å vere frå Kuvert? Skriv til tryggleiksteamet: ${contact}.</p>`,
    keyText: (keyLink, fingerprint) =>
      html`<p>Sender du noko sensitivt, krypter det med ${keyLink}. Sjekk at fingeravtrykket stemmer: ${fingerprint}.</p>`,
    keyLinkText: 'PGP-nøkkelen vår',
    fingerprintLabel: 'Fingeravtrykk',
  },
  report: {
    heading: 'Meld frå om eit tryggleikshòl',
    intro:
      'Skriv rapporten her. Nettlesaren din krypterer han med PGP-nøkkelen vår før han blir send, så berre tryggleiksteamet kan lese han. Du får eit kvitteringsnummer når vi har teke imot rapporten.',
    byEmail: (contact, keyLink) =>
      html`<p>Verkar ikkje skjemaet, eller er JavaScript slått av? Krypter rapporten med ${keyLink} og send han på e-post til ${contact}.</p>`,
    formLabel: 'Rapporten din',
    formHint:
      'Fortel kva du fann, korleis vi kan sjå det sjølve, og korleis vi kan nå deg om vi har spørsmål.',
    submit: 'Krypter og send',
    encrypting: 'Krypterer og sender …',
    sent: 'Takk! Vi har teke imot rapporten din.',
    receiptLabel: 'Kvitteringsnummer:',
    failed: 'Rapporten vart ikkje send. Prøv att litt seinare, eller send han på e-post.',
  },
  policy: {
    heading: 'Slik handsamar vi varsel',
    intro:
      'Vi set pris på at du seier frå. Følgjer du desse reglane i god tru, ser vi på undersøkinga di som ei hjelp og ikkje som eit åtak.',
    askHeading: 'Vi ber deg om å',
    askItems: [
      'gje oss rimeleg tid til å rette feilen før du fortel andre om han – vanlegvis 90 dagar',
      'ikkje lese, endre eller slette posten eller opplysningane til andre, utover det som trengst for å vise feilen',
      'ikkje forstyrre tenesta, lure brukarane eller dei tilsette, eller sende søppelpost',
    ],
    promiseHeading: 'Vi lovar å',
    promiseItems: [
      'svare deg innan tre yrkedagar og halde deg orientert medan vi rettar feilen',
      'ikkje gå rettsvegen mot deg for undersøkingar som følgjer desse reglane',
      'takke deg med namn på æreslista nedanfor om du ønskjer det',
    ],
  },
  channels: {
    heading: 'Offisielle kanalar',
    intro: 'Kuvert snakkar berre med deg her. Andre kontoar som brukar namnet vårt, er ikkje våre.',
    none: 'Kuvert har ingen andre offisielle kanalar enn denne nettsida.',
  },
  hallOfFame: {
    heading: 'Takk til',
    intro: 'Desse har meldt frå om tryggleikshòl og gjeve oss lov til å takke dei her.',
    empty: 'Ingen enno. Kanskje blir du den første?',
  },
  footer: (origin) => html`<p>Kuvert – digital post, berre på ${origin}.</p>`,
};

const en: PageText = {
  languageName: 'English',
  title: 'Security at Kuvert',
  skipLink: 'Skip to content',
  languageNavLabel: 'Language',
  lead: (origin) =>
    html`<p class="lead">Fraudsters send fake emails and text messages dressed up as digital mailbox notifications. This page tells you what a real message from Kuvert looks like, what we will never do, and how to reach our security team. Kuvert lives at ${origin} and nowhere else.</p>`,
  sends: {
    heading: 'What Kuvert sends you',
    emailHeading: 'Email',
    email: (origin) =>
      html`<p>When a new letter arrives, we send you a short email saying so and naming the sender – unless the letter is sensitive, in which case we leave even that out. The email holds a single link, and it points to ${origin}. If you have set a personal security phrase, it appears in every email we send, so you can tell ours from fakes.</p>`,
    smsHeading: 'Text messages (SMS)',
    sms: (origin) =>
      html`<p>If you have turned on text notifications, you get a brief message that there is mail for you, again with nothing but a link to ${origin}. We do not text at night; the message waits until morning.</p>`,
    letterHeading: 'Letters',
    letter: (origin) =>
      html`<p>The letters and documents themselves stay in your mailbox at ${origin}, where you read them after logging in. We never send them as attachments, and we never send paper letters asking you to log in or hand over information.</p>`,
  },
  never: {
    heading: 'What we never do',
    intro: 'A message that does any of this is not from Kuvert:',
    items: [
      'We never ask for your passphrase or your authenticator code – not by email, not by text, not on the phone.',
      'We never ask for your national identity number, bank details or other personal data in an email or text message.',
      'We never attach files. Documents open only inside your mailbox.',
      'We never link anywhere but our own address, and we never use link shorteners.',
      'We never ask you to install software or to give anyone remote access to your computer.',
    ],
  },
  staySafe: {
    heading: 'Staying safe',
    items: (origin) => [
      html`<li>Look at the address before you log in: it must start with exactly ${origin}. When in doubt, type the address yourself or use a bookmark instead of the link.</li>`,
      html`<li>Keep your computer, phone and browser up to date; updates close the holes that fraudsters use.</li>`,
      html`<li>Use a long passphrase – four or five ordinary words that only you would put together – and use it nowhere else.</li>`,
      html`<li>Clicked a link you do not trust, or gave away your code? Change your passphrase right away and tell us.</li>`,
    ],
  },
  contact: {
    heading: 'Contacting the security team',
    text: (contact) =>
      html`<p>Found a vulnerability, or received a message pretending to be from Kuvert? Write to the security team: ${contact}.</p>`,
    keyText: (keyLink, fingerprint) =>
      html`<p>For anything sensitive, encrypt it with ${keyLink}, and check that its fingerprint is ${fingerprint}.</p>`,
    keyLinkText: 'our PGP key',
    fingerprintLabel: 'Fingerprint',
  },
  report: {
    heading: 'Reporting a vulnerability',
    intro:
      'Write your report below. Your browser encrypts it with our PGP key before it leaves your computer, so only the security team can read it. Once we have it, you get a receipt number.',
    byEmail: (contact, keyLink) =>
      html`<p>If the form does not work for you, or JavaScript is turned off, encrypt your report with ${keyLink} and email it to ${contact}.</p>`,
    formLabel: 'Your report',
    formHint:
      'Tell us what you found, how we can reproduce it, and how to reach you if we have questions.',
    submit: 'Encrypt and send',
    encrypting: 'Encrypting and sending …',
    sent: 'Thank you! We have received your report.',
    receiptLabel: 'Receipt number:',
    failed: 'Your report was not sent. Try again a little later, or send it by email.',
  },
  policy: {
    heading: 'How we handle reports',
    intro:
      'We are glad to hear from you. If you follow these rules in good faith, we treat your research as help, not as an attack.',
    askHeading: 'We ask you to',
    askItems: [
      'give us reasonable time to fix the problem before you tell others about it – usually 90 days',
      'not read, change or delete other people’s mail or data beyond what it takes to show the problem',
      'not disrupt the service, deceive our users or staff, or send spam',
    ],
    promiseHeading: 'We promise to',
    promiseItems: [
      'reply within three working days and keep you posted while we fix it',
      'take no legal action against research that follows these rules',
      'thank you by name in the hall of fame below, if you would like that',
    ],
  },
  channels: {
    heading: 'Official channels',
    intro:
      'These are the only places Kuvert speaks to you. Other accounts using our name are not ours.',
    none: 'Kuvert has no official channels besides this website.',
  },
  hallOfFame: {
    heading: 'Hall of fame',
    intro: 'These people reported vulnerabilities to us and agreed to be thanked here.',
    empty: 'Nobody yet. Perhaps you will be the first?',
  },
  footer: (origin) => html`<p>Kuvert – digital mail, only at ${origin}.</p>`,
};

export const pageTexts: Readonly<Record<PageLanguage, PageText>> = { nb, nn, en };
