import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEGMENT, SEGMENT_CLASSES, readCode } from '../../libs/cache/src/code';
import { guard, guardPrompts, promptFacts } from '../../libs/cache/src/guard';
import { loadPromptPairs } from '../support/cache-pairs';

/** The guard's verdict for a neighbour below the substitution threshold (every check applies). */
const verdict = (cached: string, query: string) => guardPrompts(query, cached, 0.9, 0.95);

describe('semantic guard', () => {
  const refusals: [string, string, string][] = [
    ['what is 2+2', 'what is 2+3', 'numbers'],
    ['what is two plus two', 'what is 2 - 2', 'numbers'],
    ['Who won the World Cup in 2014?', 'Who won the World Cup in 2018?', 'numbers'],
    ['Convert 5 miles to km', 'Convert 5 km to miles', 'units'],
    ['What is 10 euros in dollars?', 'What is 10 dollars in euros?', 'units'],
    ['can I return shoes', "can't I return shoes", 'negation'],
    ['Recipes with gluten', 'Recipes without gluten', 'negation'],
    ['What is the capital of France?', 'What is the capital of Germany?', 'entities'],
    ['Is Paris bigger than London?', 'Is London bigger than Paris?', 'direction'],
    ['How do I install Java 8?', 'How do I install Java 17?', 'numbers'],
    ['How do I buy a house?', 'How do I sell a house?', 'negation'],
    ['How do I enable cookies in Chrome?', 'How do I disable cookies in Chrome?', 'negation'],
    ['How do I install Homebrew?', 'How do I uninstall Homebrew?', 'negation'],
    ['convert a string to an integer', 'convert an integer to a string', 'direction'],
    ['Flights from London to New York', 'Flights from New York to London', 'direction'],
    ['Does the Moon orbit the Earth?', 'Does the Earth orbit the Moon?', 'direction'],
    ['When did the Roman Empire fall?', 'Why did the Roman Empire fall?', 'question'],
    // Issue #13: "how many" / "how much" are questions of their own.
    ["What are Newton's laws?", "How many of Newton's laws are there?", 'question'],
    ['What is an iPhone?', 'How much does an iPhone cost?', 'question'],
    ['What is 2 + 2 * 3?', 'What is (2 + 2) * 3?', 'numbers'],
    // Found on a held-out set (heldout6): a one-letter argument read as a French elided article.
    ['What does `=DATEDIF(A1, B1, "m")` return?', 'What does `=DATEDIF(A1, B1, "d")` return?', 'symbols'],
    // Found by an independent check (session 11): opposites the table lacked.
    ['When did World War I start?', 'When did World War I end?', 'negation'],
    ['Is it true that vaccines cause autism?', 'Is it false that vaccines cause autism?', 'negation'],
    ['When does the school year begin?', 'When does the school year end?', 'negation'],
    // Found in the fresh tuning set (test/data/cache-fresh-tune.tsv).
    ['When did World War I start?', 'When did World War II start?', 'numbers'],
    ['Who was Henry VII?', 'Who was Henry VIII?', 'numbers'],
    ['How do I turn on location services on my iPhone?', 'How do I turn off location services on my iPhone?', 'negation'],
    ['How do I show a div with JavaScript?', 'How do I hide a div with JavaScript?', 'negation'],
    ['How do I allow pop-ups in Firefox?', 'How do I block pop-ups in Firefox?', 'negation'],
    // Found by an independent check (heldout4); these examples are ours, in its categories.
    // Numbers as written: versions, leading zeros, integers beyond 2^53.
    ['What is new in Angular 17.10?', 'What is new in Angular 17.1?', 'numbers'],
    ['Is invoice 0042 paid?', 'Is invoice 42 paid?', 'numbers'],
    ['Track parcel 123456789012345678901', 'Track parcel 123456789012345678902', 'numbers'],
    // A condition or qualifier added on one side.
    ['Can I drink coffee?', 'Can I drink coffee while breastfeeding?', 'qualifier'],
    ['Is it safe to take aspirin?', 'Is it safe to take aspirin during chemotherapy?', 'qualifier'],
    ['Can I take antihistamines?', 'Can I take antihistamines with alcohol?', 'qualifier'],
    ['What are the risks of warfarin?', 'What are the risks of mixing warfarin?', 'qualifier'],
    ['Is a handshake agreement enforceable?', 'Is a handshake agreement enforceable for the purchase of a house?', 'qualifier'],
    // Direction: "X in Y" between names or units, relative time in / ago.
    ['What is 3 pm GMT in JST?', 'What is 3 pm JST in GMT?', 'direction'],
    ['What will the date be in 3 weeks?', 'What was the date 3 weeks ago?', 'direction'],
    ['Which month will it be in a few months?', 'Which month was it a few months ago?', 'direction'],
    // Opposite particles after the same word.
    ['How do I sign in to Slack?', 'How do I sign out of Slack?', 'negation'],
    ['How do I opt in to marketing emails?', 'How do I opt out of marketing emails?', 'negation'],
    ['What time should I clock in?', 'What time should I clock out?', 'negation'],
    // Found by an independent check (heldout5, newest2); the classes, each with examples of ours.
    // A content word added right before a word both sides have, modifying or acting on it.
    ['How do I list files?', 'How do I list hidden files?', 'qualifier'],
    ['How do I stash my changes in git?', 'How do I apply my stashed changes in git?', 'qualifier'],
    ['How do I list all pods in the default namespace?', 'How do I list all pods in all namespaces?', 'qualifier'],
    ['How do I cook rice?', 'How do I store cooked rice?', 'qualifier'],
    ['How do I cancel my order?', 'How do I cancel my pending order?', 'qualifier'],
    ['What are the symptoms of diabetes?', 'What are the early symptoms of diabetes?', 'qualifier'],
    // A particle added after a shared verb makes another verb.
    ['Excel formula to round 3.14159 to 2 decimal places', 'Excel formula to round 3.14159 up to 2 decimal places', 'qualifier'],
    ['How do I pay my loan?', 'How do I pay off my loan?', 'qualifier'],
    // Quantifiers and scope words compared as a set.
    ['Are all mushrooms poisonous?', 'Are any mushrooms poisonous?', 'scope'],
    ['How do I see all invoices for my account?', 'How do I see only the unpaid invoices for my account?', 'scope'],
    ['Do all cats hate water?', 'Do some cats hate water?', 'scope'],
    ['Should I water every plant daily?', 'Should I water only this plant daily?', 'scope'],
    // The adjective "short" is no framing.
    ['How are short-term capital gains taxed in the US?', 'How are long-term capital gains taxed in the US?', 'substitution'],
    ['Give me a short summary of Hamlet', 'Give me a detailed summary of Hamlet', 'substitution'],
    // An ordinal on one side only.
    ['SQL query to get the second highest salary', 'SQL query to get the highest salary', 'numbers'],
    ['Who won the first FIFA World Cup?', 'Who won the most recent FIFA World Cup?', 'numbers'],
    ['Who was the third president of France?', 'Who was the president of France?', 'numbers'],
    // am / pm after a number.
    ["What time is it in Sydney when it's 9am in New York?", "What time is it in Sydney when it's 9pm in New York?", 'units'],
    ['Set an alarm for 6 am', 'Set an alarm for 6 pm', 'units'],
    // Two names in the same role swapped, nothing but framing between them.
    ["What time is it in Tokyo when it's 9am in London?", "What time is it in London when it's 9am in Tokyo?", 'direction'],
    ['What time is it in Perth when it is 8:30 in Boston?', 'What time is it in Boston when it is 8:30 in Perth?', 'direction'],
    // Units of the other languages the guard reads.
    ['Convertir 10 miles en kilomètres', 'Convertir 10 kilomètres en miles', 'units'],
    ['Rechne 5 Meilen in Kilometer um', 'Rechne 5 Kilometer in Meilen um', 'units'],
    ['Convierte 100 dólares a euros', 'Convierte 100 euros a dólares', 'units'],
    ['Converti 3 miglia in chilometri', 'Converti 3 chilometri in miglia', 'units'],
    ['Quantos quilômetros são 8 milhas?', 'Quantas milhas são 8 quilômetros?', 'units'],
    // Brackets and braces in code.
    ['In JavaScript, what is [] + []?', 'In JavaScript, what is [] + {}?', 'symbols'],
    ['In JavaScript, what is [] + {}?', 'In JavaScript, what is {} + []?', 'symbols'],
    ['What does {} mean in Python?', 'What does [] mean in Python?', 'symbols'],
    // The tense of the auxiliary.
    ['Is Pluto a planet?', 'Was Pluto a planet?', 'tense'],
    ['Was there life on Mars?', 'Is there life on Mars?', 'tense'],
    ['Does the store open on Sundays?', 'Did the store open on Sundays?', 'tense'],
    // Found by an independent check (hit33, D3): a quoted literal is a string, the bare one a value.
    ["Is '0' truthy in JavaScript?", 'Is 0 truthy in JavaScript?', 'symbols'],
    ['Is "null" equal to null in JavaScript?', 'Is null equal to null in JavaScript?', 'symbols'],
    ['Is null equal to null in JavaScript?', 'Is "null" equal to null in JavaScript?', 'symbols'],
    // Found by an independent check (hit33, D2): the future against the past or the present.
    ['Will Bitcoin go up?', 'Did Bitcoin go up?', 'tense'],
    ['Has Apple released the iPhone 17?', 'Will Apple release the iPhone 17?', 'tense'],
    ['Who will be the next president of France?', 'Who is the next president of France?', 'tense'],
    // Pronouns: swapped roles, or other people.
    ['Do you love me?', 'Do I love you?', 'direction'],
    ['Can you help me?', 'Can I help you?', 'direction'],
    ['Who are you?', 'Who am I?', 'entities'],
    ['What is his name?', 'What is her name?', 'entities'],
    // A comma between digits that is no thousands grouping stays as written.
    ['Find the GCD of 12,18', 'Find the GCD of 12.18', 'numbers'],
    ['Is 2,5 kg more than 2.5 kg?', 'is 2.5 kg more than 2.5 kg', 'numbers'],
    // Found by an independent check (heldout6); the classes, each with examples of ours.
    // Code is exact where both prompts have some: operators, backtick spans, fenced blocks.
    ['In bash, what does `make && make install` do?', 'In bash, what does `make; make install` do?', 'symbols'],
    ['What does `$@` expand to in bash?', 'What does `$*` expand to in bash?', 'symbols'],
    ['Does `SELECT COUNT(id) FROM orders` skip NULLs?', 'Does `SELECT COUNT(DISTINCT id) FROM orders` skip NULLs?', 'symbols'],
    ['Why does this fail?\n```js\nif (ready) start();\n```', 'Why does this fail?\n```js\nif (!ready) start();\n```', 'symbols'],
    // Which side of an amount its bound is on.
    ['Can I cancel my subscription within 14 days?', 'Can I cancel my subscription after 14 days?', 'scope'],
    ['Are children under 12 allowed on the ride?', 'Are children over 12 allowed on the ride?', 'scope'],
    ['¿Puedo devolver el producto dentro de 30 días?', '¿Puedo devolver el producto después de 30 días?', 'scope'],
    // The two ends of a range in the other languages.
    ['Traduce este texto de inglés a francés', 'Traduce este texto de francés a inglés', 'direction'],
    ['Wie sortiere ich eine Liste von klein bis groß?', 'Wie sortiere ich eine Liste von groß bis klein?', 'direction'],
    ["Comment traduire une phrase de l'anglais au français ?", "Comment traduire une phrase du français à l'anglais ?", 'direction'],
    // A word set against another ("instead of", "rather than"), added on one side.
    [
      'My blender stopped working after a week. Can I exchange it?',
      'My blender stopped working after a week. Can I get store credit instead of an exchange?',
      'qualifier',
    ],
    ['Should I drink coffee in the morning?', 'Should I drink tea rather than coffee in the morning?', 'qualifier'],
    // One word apart: a content word for a framing one, or added right after a content word.
    ['What is the mean?', 'What is the median?', 'substitution'],
    ['¿Cómo hago un bucle for en Rust?', '¿Cómo hago un bucle while en Rust?', 'substitution'],
    ['How many calories are in a potato?', 'How many calories are in a potato skin?', 'qualifier'],
    ['What is the boiling point of milk?', 'What is the boiling point of milk powder?', 'qualifier'],
    // Found by an independent check (heldout8); the classes, each with examples of ours.
    // A party named by a noun and a person in swapped roles.
    ['Can my neighbour sue me?', 'Can I sue my neighbour?', 'direction'],
    ['Does my employer owe me money?', 'Do I owe my employer money?', 'direction'],
    ['Did my cat scratch me?', 'Did I scratch my cat?', 'direction'],
    // Two names swapped, one of two words, are no phrase moved.
    ["What time is it in Los Angeles when it's 6 pm in Paris?", "What time is it in Paris when it's 6 pm in Los Angeles?", 'direction'],
    // The shared noun plural on one side, singular before the added word on the other.
    ['Can cats eat onions?', 'Can cats eat onion rings?', 'qualifier'],
    ['How long do I bake potatoes?', 'How long do I bake potato skins?', 'qualifier'],
    // A noun added before "of" a word both have.
    ['How do I delete my account?', 'How do I delete part of my account?', 'qualifier'],
    // Found by an independent check (cache3): an amount added before "of" a word both have, acted on by a
    // word both have. The checker's pairs, then ours: a quantifier that picks some, a noun after an
    // indefinite article or a number, a bare amount.
    ['What should I do if my dog ate chocolate?', 'What should I do if my dog ate a lot of chocolate?', 'qualifier'],
    ['Is it dangerous if my child swallowed toothpaste?', 'Is it dangerous if my child swallowed a tube of toothpaste?', 'qualifier'],
    ['How do I refund the payment?', 'How do I refund most of the payment?', 'qualifier'],
    ['Can I drink coffee while breastfeeding?', 'Can I drink lots of coffee while breastfeeding?', 'qualifier'],
    ['Is it safe to eat raw cookie dough?', 'Is it safe to eat a bowl of raw cookie dough?', 'qualifier'],
    ['Can I give my cat milk?', 'Can I give my cat a saucer of milk?', 'qualifier'],
    ['How do I archive the emails?', 'How do I archive many of the emails?', 'qualifier'],
    ['Is it bad to drink water before bed?', 'Is it bad to drink plenty of water before bed?', 'qualifier'],
    ['Can my toddler eat peanut butter?', 'Can my toddler eat a spoonful of peanut butter?', 'qualifier'],
    // Another amount: a word swapped, refused as any.
    ['Can I cancel part of my order?', 'Can I cancel most of my order?', 'substitution'],
    ['My dog ate a bar of chocolate', 'My dog ate a box of chocolate', 'substitution'],
    // -er makes another word: the one-word-apart check sees it.
    ['Where can I hire a plumber?', 'Where can I hire a plumbing?', 'substitution'],
    ['How do I install a scanner?', 'How do I install a scan?', 'substitution'],
    ['Who is the best teacher?', 'Who is the best teaching?', 'substitution'],
    // A condition with its own subject and auxiliaries.
    ['Can I drink coffee?', 'Can I drink coffee while I am breastfeeding?', 'qualifier'],
    ['Can I get a refund?', 'Can I get a refund after it arrives?', 'qualifier'],
    ['Can I take aspirin?', 'Can I take aspirin if I am pregnant?', 'qualifier'],
    // A clause opened by "but" (cache3's pair, then ours).
    ['How do I undo the last commit?', 'How do I undo the last commit but keep the changes?', 'qualifier'],
    ['Can I return the shoes?', 'Can I return the shoes but keep the box?', 'qualifier'],
    // German capitalises its nouns: "Fotos" is read as a name, on one side only (cache-guard-regions.test.ts).
    ['Wie setze ich mein Handy zurück?', 'Wie setze ich mein Handy zurück, aber behalte die Fotos?', 'entities'],
    // A phrase saying when, in what order or unit, or by what means, added on one side (cache5's pairs, then ours).
    ['Is it safe to walk in Central Park?', 'Is it safe to walk in Central Park at night?', 'qualifier'],
    ['How do I stay warm while camping?', 'How do I stay warm while camping in winter?', 'qualifier'],
    ['Print the numbers from 1 to 10.', 'Print the numbers from 1 to 10 in reverse order.', 'qualifier'],
    ['How do I get to the airport?', 'How do I get to the airport by bus?', 'qualifier'],
    // A capitalised day or unit is a name on one side only, refused as such first.
    ['What time does the store open?', 'What time does the store open on Sundays?', 'entities'],
    ['How long should I cook a turkey?', 'How long should I cook a turkey in Celsius?', 'entities'],
    ['What can I do in Rome?', 'What can I do in Rome at the weekend?', 'qualifier'],
    ['List the files by name.', 'List the files by name in alphabetical order.', 'qualifier'],
    // Conditions in the other languages.
    ['¿Puedo beber café?', '¿Puedo beber café durante la lactancia?', 'qualifier'],
    ['Puis-je boire du café ?', 'Puis-je boire du café pendant que je suis malade ?', 'qualifier'],
    ['Darf ich Kaffee trinken?', 'Darf ich Kaffee trinken, wenn ich krank bin?', 'qualifier'],
    ['Posso bere il caffè?', 'Posso bere il caffè durante la gravidanza?', 'qualifier'],
    // Two real words a letter swap apart are two words, not a typo.
    ['How long is the trail?', 'How long is the trial?', 'substitution'],
    ['Is it casual?', 'Is it causal?', 'substitution'],
    ['How do I fill in this form?', 'How do I fill in this from?', 'substitution'],
    // Found by an independent check (heldout9); the classes, each with examples of ours.
    // One end only, headed the other way: to / from the same thing after the same word.
    ['Do you deliver to Mexico?', 'Do you deliver from Mexico?', 'direction'],
    ['How do I move a folder to an external drive?', 'How do I move a folder from an external drive?', 'direction'],
    ['Livrez-vous au Canada ?', 'Livrez-vous depuis le Canada ?', 'direction'],
    ['Wie schicke ich ein Paket nach Spanien?', 'Wie schicke ich ein Paket von Spanien?', 'direction'],
    ['Enviamos paquetes al Brasil', 'Enviamos paquetes desde Brasil', 'direction'],
    // A British double l is the same word: the swap across a third is seen.
    ['Will deleting my data cancel my plan?', 'Will cancelling my plan delete my data?', 'direction'],
    // A unit word with no amount next to "to" / "into" is a type, ordered as a term is.
    ['How do I turn bytes into a string in Go?', 'How do I turn a string into bytes in Go?', 'direction'],
    // A word is no form of a longer word its own side has too ("sour", "sourdough").
    ['My sourdough starter is very runny', 'My sourdough starter is way too sour', 'substitution'],
    // "Within" as two words: "dans les", "en los", "nei".
    ['Puis-je annuler ma commande dans les 14 jours ?', 'Puis-je annuler ma commande après 14 jours ?', 'scope'],
    ['¿Puedo cancelar el pedido en los 14 días?', '¿Puedo cancelar el pedido después de 14 días?', 'scope'],
    ["Posso annullare l'ordine nei 14 giorni?", "Posso annullare l'ordine dopo 14 giorni?", 'scope'],
    // A prepositional phrase and a word side by side trade places.
    ['Can I exchange shoes bought in store online?', 'Can I exchange shoes bought online in store?', 'direction'],
    // Whose a thing is moves to the other party, and I act on one side only.
    ['Can my sister use my credit card?', "Can I use my sister's credit card?", 'direction'],
    // Found by an independent check (heldout10); the classes, each with examples of ours.
    // Two terms side by side trade places between prepositions that stay.
    ['How do I compile Rust for arm64 on an x86 laptop?', 'How do I compile Rust for x86 on an arm64 laptop?', 'direction'],
    ['Which users are in staging but not in production?', 'Which users are in production but not in staging?', 'direction'],
    // A bound before a currency symbol and its amount.
    ['Is delivery free for orders over $100?', 'Is delivery free for orders under $100?', 'scope'],
    ['Show me headphones under €40', 'Show me headphones over €40', 'scope'],
    // Opposites by the prefixes of French, Spanish, Portuguese and Italian.
    ['Comment activer les sous-titres ?', 'Comment désactiver les sous-titres ?', 'negation'],
    ['¿Cómo activo el modo avión?', '¿Cómo desactivo el modo avión?', 'negation'],
    ['Como ativar as notificações?', 'Como desativar as notificações?', 'negation'],
    ['Come attivare la modalità scura?', 'Come disattivare la modalità scura?', 'negation'],
    // A letter dropped or doubled that makes another word is another word, not a typo.
    ['What is the best dessert in Morocco?', 'What is the best desert in Morocco?', 'substitution'],
    ['Who was the former owner?', 'Who was the farmer owner?', 'substitution'],
    // Two things compared but ordered by "than": a direction.
    ['Compare Python and Java: is Python faster than Java?', 'Compare Python and Java: is Java faster than Python?', 'direction'],
    // A word acting on a term the other side says with a framing word of its group ("show").
    ['How do I show line numbers in vim?', 'How do I stop showing line numbers in vim?', 'qualifier'],
    // Two nouns a vowel apart are no verb and its form, and outside English no typo either.
    ['¿Dónde está el puerto?', '¿Dónde está la puerta?', 'substitution'],
    ['¿Qué le regalo a mi abuelo?', '¿Qué le regalo a mi abuela?', 'substitution'],
    // WordNet's words of one sense are synonyms; co-hyponyms are not.
    ['Can my cat eat grapes?', 'Can my dog eat grapes?', 'substitution'],
    ['Should I paint my kitchen red?', 'Should I paint my kitchen blue?', 'substitution'],
    // Found by an independent check (heldout11); the classes, each with examples of ours.
    // Two terms either side of a negation or an exclusion trade places: the other one is left out.
    ['Find orders that contain pizza but not pasta', 'Find orders that contain pasta but not pizza', 'direction'],
    ['Which students passed Math but not Physics?', 'Which students passed Physics but not Math?', 'direction'],
    ['Show tables in prod that are not in dev', 'Show tables in dev that are not in prod', 'direction'],
    // Found by an independent check (cache29): two strings a letter apart of which neither is a word are two
    // names (a package, a command, a code), not a typo; bits (a lower-case b after a capital) are no bytes.
    ['How do I install openssl on Ubuntu?', 'How do I install openssh on Ubuntu?', 'substitution'],
    ['how do i use ipconfig to renew my ip address', 'how do i use ifconfig to renew my ip address', 'substitution'],
    ['Where is my parcel with tracking code zqxwvbnm?', 'Where is my parcel with tracking code zqxwvbnp?', 'substitution'],
    ['Where is my parcel with tracking code zqxwvbnm?', 'Where is my parcel with tracking code zqxwbvnm?', 'substitution'],
    ['How long does it take to download 100 MB?', 'How long does it take to download 100 Mb?', 'units'],
    ['How long does it take to download 100 MB on a 10 Mb/s link?', 'How long does it take to download 100 Mb on a 10 MB/s link?', 'units'],
    ['Is 100 Mbps fast?', 'Is 100 MBps fast?', 'units'],
    ['Is a 1 Gb memory chip enough?', 'Is a 1 GB memory chip enough?', 'units'],
    ['Why does my app work on Wi-Fi but not on mobile data?', 'Why does my app work on mobile data but not on Wi-Fi?', 'direction'],
    ['Vegan recipes with tofu without soy sauce', 'Vegan recipes with soy sauce without tofu', 'direction'],
    ['Delete all logs except errors', 'Delete all errors except logs', 'direction'],
    ['Recommend a tea rather than a coffee for the evening', 'Recommend a coffee rather than a tea for the evening', 'direction'],
    ['Bake bread with butter instead of oil', 'Bake bread with oil instead of butter', 'direction'],
    ['Des gens qui parlent anglais mais pas espagnol', 'Des gens qui parlent espagnol mais pas anglais', 'direction'],
    ['Leute, die Englisch aber nicht Spanisch sprechen', 'Leute, die Spanisch aber nicht Englisch sprechen', 'direction'],
    ['Personas que hablan inglés pero no español', 'Personas que hablan español pero no inglés', 'direction'],
    ['Persone che parlano inglese ma non spagnolo', 'Persone che parlano spagnolo ma non inglese', 'direction'],
    ['Pessoas que falam inglês mas não espanhol', 'Pessoas que falam espanhol mas não inglês', 'direction'],
    ['Mensen die Engels maar niet Spaans spreken', 'Mensen die Spaans maar niet Engels spreken', 'direction'],
    ['Tous les fruits sauf les pommes et les poires', 'Tous les poires sauf les pommes et les fruits', 'direction'],
    ['Alle Dateien außer Bildern löschen', 'Alle Bildern außer Dateien löschen', 'direction'],
    // A date or time format is compared as written, in order: its fields and separators are the answer.
    ['How do I print a date as YYYY-MM-DD in Java?', 'How do I print a date as DD-MM-YYYY in Java?', 'symbols'],
    ['Convert a string in DD.MM.YYYY format to a date', 'Convert a string in YYYY.MM.DD format to a date', 'symbols'],
    ['Validate a date in YYYY-MM-DD format', 'Validate a date in DD/MM/YYYY format', 'symbols'],
    ['Format the time as HH:mm:ss', 'Format the time as hh:mm:ss', 'symbols'],
    ['Parse timestamps like YYYY-MM-DD HH:mm', 'Parse timestamps like YYYY-MM-DD mm:HH', 'symbols'],
    // Found by an independent check (recheck29b): an exponent written raised is no digit, nor a factorial's "!"
    // a sentence's end; the same letters punctuated otherwise are other code.
    ['Is 25 an even number?', 'Is 2⁵ an even number?', 'numbers'],
    ['How much is 23?', 'How much is 2³?', 'numbers'],
    ['What is 106 written out in words?', 'What is 10⁶ written out in words?', 'numbers'],
    ['Simplify x2 + 2x + 1', 'Simplify x² + 2x + 1', 'numbers'],
    ['Is 32 + 42 = 52?', 'Is 3² + 4² = 5²?', 'numbers'],
    ['What is 2-1?', 'What is 2⁻¹?', 'numbers'],
    ['What is 1012 in decimal?', 'What is 101₂ in decimal?', 'numbers'],
    ['Compute 10 divided by 8', 'Compute 10! divided by 8!', 'numbers'],
    ['How many digits does 20 have?', 'How many digits does 20! have?', 'numbers'],
    ['What is 5?', 'What is 5!?', 'numbers'],
    ['What does list[1:] return in Python?', 'What does list[:1] return in Python?', 'symbols'],
    ['What does list[1:] return in Python?', 'What does list[1] return in Python?', 'symbols'],
    ['What does s[::2] return in Python?', 'What does s[2::] return in Python?', 'symbols'],
    ['What does a?.b do in JavaScript?', 'What does a.b do in JavaScript?', 'symbols'],
    ['What does p->next do in C?', 'What does p.next do in C?', 'symbols'],
    // Found by a second check (recheck29c): a raised letter is an exponent too, and so are the same letters
    // punctuated otherwise in addresses and file names, hyphens and underscores included; "!!" a double factorial.
    ['What is the derivative of 2x?', 'What is the derivative of 2ˣ?', 'numbers'],
    ['What is the integral of ex?', 'What is the integral of eˣ?', 'symbols'],
    ['Is 2k bigger than 1000 for k = 10?', 'Is 2ᵏ bigger than 1000 for k = 10?', 'numbers'],
    ['Email john.doe@example.com about the invoice', 'Email john-doe@example.com about the invoice', 'symbols'],
    ['Email jane.smith@corp.com about the invoice', 'Email jane_smith@corp.com about the invoice', 'symbols'],
    ['Delete the file config.prod.json', 'Delete the file config-prod.json', 'symbols'],
    ['Download https://my-site.com/report with curl', 'Download https://my.site.com/report with curl', 'symbols'],
    ['Compute 6!', 'Compute 6!!', 'numbers'],
  ];
  for (const [cached, query, reason] of refusals) {
    it(`refuses "${query}" for "${cached}" (${reason})`, () => assert.equal(verdict(cached, query), reason));
  }

  const allowed: [string, string][] = [
    // The same quoted literal, or a quoted word that is no literal (hit33, D3).
    ["Is '0' truthy in JavaScript?", "In JavaScript, is '0' truthy?"],
    ["What does 'ubiquitous' mean?", 'What does ubiquitous mean?'],
    // The future said otherwise, or a request put with "will" (hit33, D2).
    ['Will it snow in Denver this weekend?', 'Is it going to snow in Denver this weekend?'],
    ['Will you translate this sentence into Spanish?', 'Can you translate this sentence into Spanish?'],
    ['What will happen if I skip breakfast?', 'What happens if I skip breakfast?'],
    // "Of" after no amount, all of it, the question's own "how many", the same amount in other words, or an
    // amount where the other side has no act on the word: wording.
    // A raised ordinal's suffix is the ordinal (recheck29c).
    ['Who came 3rd in the race?', 'Who came 3ʳᵈ in the race?'],
    ['Who came 2nd in the race?', 'Who came 2ⁿᵈ in the race?'],
    // An exclamation is no double factorial, nor a hyphen between words code (recheck29c).
    ['I just turned 30! What should I do to celebrate?', 'I just turned 30!!! What should I do to celebrate?'],
    ['Explain A/B testing', 'Explain A-B testing'],
    ['How do I delete the emails?', 'How do I delete all of the emails?'],
    ['How many students passed?', 'How many of the students passed?'],
    ['Can I drink a lot of coffee?', 'Can I drink lots of coffee?'],
    ['Give me a summary of the French Revolution', 'Summarize the French Revolution'],
    ['What is the capital of France?', 'Which city is the capital of France?'],
    ['List prime numbers', 'Give me a list of prime numbers'],
    ['What is the capital of France?', 'capital of france?'],
    ['What is 2+2?', 'what is two plus two'],
    ['how do i create a new branch in git', 'How do I create a new branch in Git?'],
    ['Who painted the Mona Lisa?', 'Who is the painter of the Mona Lisa?'],
    ['How do I fix a flat tire?', 'How can I repair a flat tire?'],
    ['Is 1,000 more than 999.50?', 'is 1000 more than 999.50'],
    // Issue #13: "constructor" is not a number word (the lookup read Object.prototype.constructor).
    ['How do I call a constructor with 2 arguments in Java?', 'How do I call a 2 argument constructor in Java?'],
    // Issue #13: "/" between words is not division.
    ['Pass the settings to the initializer/loader', 'Pass the settings to the loader'],
    ['How many continents are there?', 'What is the number of continents?'],
    ['Which city is the capital of Japan?', 'What is the capital of Japan?'],
    ['How many feet are in a mile?', 'How many feet are in one mile?'],
    ['Explain quantum computing to a 10 year old', 'Explain quantum computing to a 10-year-old'],
    ['What is the virtual DOM in React?', "Explain React's virtual DOM"],
    // The same setting on both sides; a phrase whose noun is no setting ("in simple terms", "at home").
    ['How do I get to the airport by bus?', 'How can I get to the airport by bus?'],
    ['Should I drink coffee in the morning?', 'Is it OK to drink coffee in the morning?'],
    ['Explain recursion', 'Explain recursion in simple terms'],
    ['How do I whiten my teeth?', 'How do I whiten my teeth at home?'],
    // A Roman numeral is a number after a name only: "IV" alone is a word on both sides.
    ['When should a patient get IV fluids?', 'When does a patient need IV fluids?'],
    ['Who was Louis XIV?', 'Tell me who Louis XIV was'],
    // The same word on both sides as often: no opposite, however many times each occurs.
    ['Turn on the lights on the porch', 'turn on the porch lights'],
    // Framing words added on one side are no qualifier (an added name is: cache-guard-regions.test.ts).
    ['Can I take aspirin?', 'Can you please tell me quickly if I can take aspirin?'],
    ['What is the capital of Peru?', 'Tell me exactly what the capital of Peru is'],
    ['Why is 1 < 2?', 'why is 1 < 2'],
    ['What is C++?', 'what is c++'],
    ['Donate to a non-profit', 'Donate to a nonprofit'],
    ['How do I log in to Jira?', 'How can I log in to Jira?'],
    // What the checks above leave alone: a word added apart from the shared ones, names in another
    // construction, names coordinated, the same tense, the same quantifier, the same people.
    ['Which city is the capital of Japan?', 'What is the capital of Japan?'],
    ['What is the virtual DOM in React?', "Explain React's virtual DOM"],
    ['Compare Python and Java', 'Compare Java and Python'],
    ['List all files in a folder', 'List every file in a folder'],
    ['Can you tell me my balance?', 'Tell me my balance'],
    ['Comment puis-je suivre ma commande ?', 'Comment suivre ma commande ?'],
    ['Wie setze ich mein Passwort zurück?', 'Wie kann ich mein Passwort zurücksetzen?'],
    ['Meeting at 9 am in Berlin', 'meeting at 9am in Berlin'],
    ["Quelle est la capitale de l'Italie ?", "Quelle est la capitale d'Italie ?"],
    ["Qual è l'orario d'apertura?", "Qual è l'orario di apertura?"],
    // The same code in reworded or re-spaced prose; code on one side only.
    ['What does `$#` mean in bash?', 'In bash, what does `$#` mean?'],
    ['Why is `SELECT COUNT( * ) FROM t` slow?', 'Why is `SELECT COUNT(*)  FROM t` slow?'],
    [
      'Why does this loop never end?\n```js\nwhile (x) {\n  step();\n}\n```',
      'Why does this loop never end?\n```js\nwhile (x) { step(); }\n```',
    ],
    ['What is 2+2?', 'What is two plus two?'],
    // The same bound, or a bound on one side only; the same range.
    ['Can I get a refund within 30 days?', 'Refund within 30 days?'],
    ['Traduce este texto de inglés a francés', 'Traduce del inglés al francés este texto'],
    // A word added after a framing word names what the answer is; "qual" and "cuál" are framing.
    ['What do koalas eat?', 'What food do koalas eat?'],
    ['Qual é a capital do Peru?', 'Qual cidade é a capital do Peru?'],
    // "Which one" is a pronoun, in a prompt with numbers too.
    ['I have 2 cats and a dog. Which one needs more sleep?', 'I have 2 cats and a dog. Which needs more sleep?'],
    // An infinitive and a form of the same verb; a framing word for a framing word.
    ['¿Cómo cancelo mi reserva?', '¿Cómo puedo cancelar mi reserva?'],
    ['Come posso reimpostare il PIN?', 'come si reimposta il PIN?'],
    // A capital after "¿" or "¡" starts a sentence: no name.
    ['Hola. ¿Cuál es la moneda de Chile?', 'Hola. ¿Qué moneda se usa en Chile?'],
    ['¿Cuál es la capital de Perú?', 'capital de Perú cuál es'],
    // Found by an independent check (heldout8): a phrase moved to the front or the end is no swap.
    ['In Rust, how do I read a file into a string?', 'How do I read a file into a string in Rust?'],
    // Two adjacent letters swapped in a word that is no other word: a typo.
    ['How do I change my password?', 'how do I chnage my password'],
    ['How do I bake pancakes?', 'how do i bake pancaeks'],
    ['What does this error mean?', 'what does this erorr mean'],
    // Found by an independent check (heldout9), what the classes above leave alone: the same word spelt
    // both ways; "X of Y" as "Y's X"; one thing whose owner is named twice.
    ['Is travelling to Japan expensive?', 'Is traveling to Japan expensive?'],
    ['Give me a summary of the plot of Macbeth', "Give me a summary of Macbeth's plot"],
    ['Why does my phone battery drain fast?', "Why does my phone's battery drain fast?"],
    // A unit of time before "to" is no type ("bytes to a string" is).
    ['What is the best time to visit Peru?', 'When is the best time of year to visit Peru?'],
    // Found by an independent check (heldout10): synonyms and typos the guard read as other words.
    // One letter dropped, doubled or wrong, in a word of six letters or more, on either side.
    ['How do I reset my password?', 'how do i reset my pasword'],
    ['how do i reset my pasword', 'How do I reset my password?'],
    ['What is the difference between TCP and UDP?', 'whats the diffrence between TCP and UDP'],
    ['How do I cancel my subscription?', 'how do i cancel my subscripton'],
    ['How do I change my address?', 'how do i change my adddress'],
    // Two letters swapped in a four-letter word that is no other word.
    ['What is the best pizza in Naples?', 'what is the bset pizza in naples'],
    ['How do I reverse a list in Go?', 'how do i reverse a lsit in go'],
    // A byte is a byte in any case but a lower-case b after a capital ("Mb" is bits, cache29).
    ['How big is a 500 kB image?', 'how big is a 500 KB image'],
    ['How long does it take to download 100 MB?', 'how long does it take to download 100 MB'],
    // A hand synonym in another form; a WordNet synonym.
    ['I deleted a file by mistake, can I get it back?', 'I removed a file by mistake, can I get it back?'],
    ['How do I mend a torn jacket?', 'How do I repair a torn jacket?'],
    ['Where can I buy a cheap sofa?', 'Where can I buy a cheap couch?'],
    // Function words; two things compared, named in either order.
    ['Write a function that checks whether a number is prime', 'write a function to check if a number is prime'],
    // A framing word of a synonym group says its content words: "make" is "create".
    ['How do I create a new Slack channel?', 'how to make a new slack channel'],
    ['What is the difference between TCP and UDP?', 'UDP vs TCP: how do they differ?'],
    ['What is the difference between a lease and a rental agreement?', 'Rental agreement vs lease, what is the difference?'],
    // Found by an independent check (heldout11), what the classes above leave alone: the same term left out
    // on both sides; a phrase with its negation moved whole; the same date format.
    ['Which commits are in main but not in develop?', 'Which commits are in main and not in develop?'],
    ['How do I bake a cake without eggs?', 'Without eggs, how do I bake a cake?'],
    ['Why does my script work on Linux but not on Windows?', 'My script works on Linux but not on Windows, why?'],
    ["I can't log in. Why is my password not working?", "Why is my password not working? I can't log in."],
    ['regex for a date in YYYY-MM-DD format', 'regex for a YYYY-MM-DD date'],
    ['How do I format a date as YYYY-MM-DD in Python?', 'python: format a date as YYYY-MM-DD'],
    // An exponent as a caret or raised, an index written low or plain, a sentence ending after a number; the
    // same code with prose punctuation around it, a file type with or without its dot.
    ['What is the integral of x^2?', 'what is the integral of x²'],
    ['What is the chemical formula of CO2?', 'what is the chemical formula of CO₂'],
    ['I scored 100! Is that good?', 'I scored 100. Is that good?'],
    ['What does list[1:] return in Python?', 'what does "list[1:]" return in python'],
    ['What does a?.b do in JavaScript?', 'In JavaScript, what does (a?.b) do?'],
    ['How do I extract a tar.gz file?', 'How do I extract a .tar.gz file?'],
  ];
  for (const [cached, query] of allowed) {
    it(`allows "${query}" for "${cached}"`, () => assert.equal(verdict(cached, query), undefined));
  }

  // Found by an independent check (heldout4): negation was read in English only.
  const negations: [string, string, string][] = [
    ['de', 'Kann ich das Abo kündigen?', 'Kann ich das Abo nicht kündigen?'],
    ['de', 'Gibt es eine Gebühr?', 'Gibt es keine Gebühr?'],
    ['fr', 'Pourquoi ma carte fonctionne ?', 'Pourquoi ma carte ne fonctionne pas ?'],
    ['fr', "Pourquoi l'application s'ouvre ?", "Pourquoi l'application ne s'ouvre jamais ?"],
    ['es', '¿Por qué funciona mi tarjeta?', '¿Por qué no funciona mi tarjeta?'],
    ['es', '¿Por qué llega tarde el paquete?', '¿Por qué nunca llega el paquete?'],
    ['pt', 'Por que o aplicativo abre?', 'Por que o aplicativo não abre?'],
    ['pt', 'Tenho algum desconto?', 'Não tenho nenhum desconto?'],
    ['it', 'Perché il treno arriva in orario?', 'Perché il treno non arriva in orario?'],
    ['it', 'Ho ricevuto il rimborso?', 'Non ho mai ricevuto il rimborso?'],
  ];
  for (const [language, cached, query] of negations) {
    it(`refuses "${query}" for "${cached}" (negation, ${language})`, () => assert.equal(verdict(cached, query), 'negation'));
  }

  it('the three bugs of issue #13 each still refuse what they should', () => {
    // Number words still count; "/" between numbers is still division; how many vs how much still differ.
    assert.equal(verdict('How do I call a constructor with 2 arguments?', 'How do I call a constructor with two arguments?'), undefined);
    assert.equal(verdict('How do I call a constructor with 2 arguments?', 'How do I call a constructor with 3 arguments?'), 'numbers');
    assert.equal(verdict('What is 10/2?', 'What is 10*2?'), 'numbers');
    assert.equal(verdict('How many people live in Canada?', 'Who lives in Canada?'), 'question');
  });

  // Found by an independent check: a sentence in a script written without spaces was one token,
  // so no check could see which of its words differ.
  it('reads Han, kana and Thai letter by letter', () => {
    assert.deepEqual(promptFacts('日本の首都はどこ？').terms, ['日', '本', 'の', '首', '都', 'は', 'ど', 'こ']);
    assert.deepEqual(promptFacts('What does 你好 mean?').terms, ['你', '好']);
    assert.deepEqual(promptFacts('สวัสดี').terms, ['ส', 'วั', 'ส', 'ดี']);
    assert.equal(verdict('日本の首都はどこですか？', '日本の首都は何ですか？'), 'substitution');
  });

  // Found by an independent check (newest2): code facts were read with a regex whose overlapping
  // quantifiers took quadratic time on a run of "!" (20,000 of them: 1.4–2.2 s on the event loop).
  it('cuts code into runs of disjoint character classes, so no character is read twice', () => {
    const classes = Object.values(SEGMENT_CLASSES).map((c) => new RegExp(`^${c}$`, 'u'));
    assert.equal(
      SEGMENT.source,
      `${Object.values(SEGMENT_CLASSES)
        .map((c) => `${c}+`)
        .join('|')}|.`,
    );
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      assert.ok(classes.filter((c) => c.test(char)).length <= 1, `U+${code.toString(16)} is in two classes`);
    }
    assert.deepEqual(readCode(`why ${'!'.repeat(20000)}`).operations, []);
    assert.deepEqual(readCode(`a ${'!'.repeat(20000)}= b`).operations, [`a${'!'.repeat(20000)}=b`]);
  });

  it('reads a date or time format as written, with its separators; a unit per unit is none', () => {
    assert.deepEqual(promptFacts('regex for a date in YYYY-MM-DD format').formats, ['YYYY-MM-DD']);
    assert.deepEqual(promptFacts('log lines like `DD/MM/YYYY hh:mm:ss`').formats, ['DD/MM/YYYY', 'hh:mm:ss']);
    assert.deepEqual(promptFacts('What is 5 m/s in km/h?').formats, []);
    assert.deepEqual(promptFacts('A wire of 2 mm/m').formats, []);
  });

  it('a substitution is served only at or above the substitution threshold', () => {
    const [a, b] = [promptFacts('How do I protect my credit score?'), promptFacts('How do I see my credit score?')];
    assert.equal(guard(b, a, 0.9, 0.95), 'substitution');
    assert.equal(guard(b, a, 0.96, 0.95), undefined);
  });

  it('refuses every hard negative of the first held-out set (written after its rules were frozen)', () => {
    const negatives = loadPromptPairs('cache-pairs-holdout.tsv').filter((p) => p.kind !== 'paraphrase');
    assert.ok(negatives.length >= 30);
    const served = negatives.filter((p) => !verdict(p.a, p.b));
    assert.deepEqual(served, []);
  });

  it('the evaluation set has 1,000+ paraphrases and 1,000+ hard negatives, with every kind in both parts', () => {
    const tune = loadPromptPairs('cache-eval-tune.tsv');
    const heldOut = loadPromptPairs('cache-eval-holdout.tsv');
    const all = [...tune, ...heldOut];
    assert.ok(all.filter((p) => p.kind === 'paraphrase').length >= 1000);
    assert.ok(all.filter((p) => p.kind !== 'paraphrase').length >= 1000);
    const key = (p: { a: string; b: string }) => `${p.a}\t${p.b}`;
    const tuneKeys = new Set(tune.map(key));
    assert.equal(heldOut.filter((p) => tuneKeys.has(key(p))).length, 0, 'no pair in both parts');
    for (const kind of ['paraphrase', 'number', 'entity', 'negation', 'unit', 'direction', 'question', 'topic', 'intent']) {
      for (const part of [tune, heldOut]) assert.ok(part.filter((p) => p.kind === kind).length >= 10, kind);
    }
  });
});

// Found by an independent check (recheck25): reading a setting's synonym as the setting everywhere (a change made
// and reverted this session) served one question's answer to another where the word has a second meaning: a fall
// (an accident, an event) is no autumn, a plane in geometry no airplane. The word swap refuses them.
describe('semantic guard: a setting word with a second meaning is not its synonym', () => {
  const homonyms: [string, string][] = [
    ['Is it common to break a hip in a fall?', 'Is it common to break a hip in autumn?'],
    ['What happened in the fall of Constantinople?', 'What happened in autumn in Constantinople?'],
    ['What injuries are common in a fall from a ladder?', 'What injuries are common in autumn from a ladder?'],
    ['What forces act on an object resting on a plane?', 'What forces act on an object resting on an airplane?'],
    ['How do you find the distance between two points on a plane?', 'How do you find the distance between two points on an airplane?'],
  ];
  for (const [a, b] of homonyms) {
    it(`refuses "${a}" / "${b}", either side cached`, () => {
      assert.ok(verdict(a, b), 'served');
      assert.ok(verdict(b, a), 'served the other way');
    });
  }
});

// Found by an independent check (gcheck26): a name on one side was cancelled by the same word in lower case on the
// other, and in lower case it is often another word: polish the verb, a turkey, china plates, mercury the metal.
// Only a side that writes nothing with a capital (a casual "how do i … in git") may mean the name in lower case;
// the price is a lost hit where a careful writer lower-cases a name ("Create a new branch in git").
describe('semantic guard: a name and the same word in lower case', () => {
  const capitonyms: [string, string][] = [
    ['What does the word polish mean?', 'What does the word Polish mean?'],
    ['How long should I roast a turkey?', 'How long should I roast a turkey in Turkey?'],
    ['Is it safe to put china in the dishwasher?', 'Is it safe to put China in the dishwasher?'],
    ['Where is the nearest Subway?', 'Where is the nearest subway?'],
    ['Is mercury dangerous to touch?', 'Is Mercury dangerous to touch?'],
    ['How do I write a catholic letter?', 'How do I write a Catholic letter?'],
  ];
  for (const [a, b] of capitonyms) {
    it(`refuses "${a}" / "${b}", either side cached`, () => {
      assert.equal(verdict(a, b), 'entities');
      assert.equal(verdict(b, a), 'entities');
    });
  }
  // Found by the next check (final26): the casual writer was judged by the sentence the prompts differ in.
  it('judges the writer by the whole prompt, not by the sentence the prompts differ in', () => {
    assert.equal(
      verdict('I live near Boston. Where is the nearest Subway?', 'I live near Boston. where is the nearest subway'),
      'entities',
    );
    assert.equal(
      verdict('Quick question from Tom. Is Mercury dangerous to touch?', 'Quick question from Tom. is mercury dangerous to touch'),
      'entities',
    );
  });
  it('allows a name written in lower case by a side that writes nothing with a capital, and one said in capitals', () => {
    assert.equal(verdict('How do I sort a list in Python?', 'how to sort a list in python'), undefined);
    assert.equal(verdict('Compare Python and Rust for a CLI tool', 'compare python and rust for a cli tool, please'), undefined);
    assert.equal(verdict('How do I read a file in Python?', 'In Python, how do I read a file?'), undefined);
  });
});

// Found by an independent check (gcheck26): code was compared but for whitespace, and in Python or YAML the depth of
// a line is its meaning: `return b` inside the `if` or after it is another program.
describe('semantic guard: pasted code at another depth', () => {
  const program = (body: string) =>
    `Here is my function:\n\`\`\`python\ndef f(x, a, b):\n${body}\n\`\`\`\nWhat does it return when x is false?`;
  it('refuses a line moved into or out of a block, either side cached', () => {
    const [outside, inside] = [
      program('    if x:\n        return a\n    return b'),
      program('    if x:\n        return a\n        return b'),
    ];
    assert.equal(verdict(outside, inside), 'symbols');
    assert.equal(verdict(inside, outside), 'symbols');
    const yaml = (nested: string) => `\`\`\`yaml\nserver:\n  port: 80\n${nested}client:\n  port: 90\n\`\`\`\nWhat is the server port?`;
    assert.equal(verdict(yaml(''), yaml('  ')), 'symbols');
  });
  // Found by the next check (final26): only ``` fences were read, and pasted code is not always fenced.
  it('refuses a line at another depth in a ~~~ fence, and in code pasted without a fence', () => {
    const body = (inner: string) => `def f(x):\n    if x:\n        return 1\n${inner}return 0`;
    const tilde = (inner: string) => `~~~\n${body(inner)}\n~~~\nWhat does f(False) return?`;
    assert.equal(verdict(tilde('    '), tilde('        ')), 'symbols');
    const bare = (inner: string) => `My code:\n${body(inner)}\nWhat does f(False) return?`;
    assert.equal(verdict(bare('    '), bare('        ')), 'symbols');
    const yaml = (nested: string) => `Config:\nserver:\n  port: 80\n${nested}client:\n  port: 90\nWhat is the server port?`;
    assert.equal(verdict(yaml(''), yaml('  ')), 'symbols');
  });
  it('allows the same code indented by another width (2 spaces, 4, a tab)', () => {
    const by = (unit: string) => program(`${unit}if x:\n${unit}${unit}return a\n${unit}return b`);
    assert.equal(verdict(by('    '), by('  ')), undefined);
    assert.equal(verdict(by('\t'), by('    ')), undefined);
  });
});
