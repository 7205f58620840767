"""Hand-written cue words for language identification (no PyPI package covers this well).

Written by this project from general knowledge of the languages, not fitted to any corpus. Each
line is ``language: words``. A word listed under several languages is split evenly between them,
so words shared by Swedish, Norwegian and Danish say "Scandinavian" without taking sides, and the
words that tell them apart (``och/og``, ``inte/ikke``, ``hva/hvad``, ``af/av``, ``nu/nå``) decide.

Words that Danish and Bokmål share in everyday use (``ved`` "by/at", ``at`` "that", ``virkelig``,
``gang``, ``nok``, ``deres``, ``sammen``, ``hos``, ``tror``, ``hjem``, ``stadig``,
``kundeservice``) are listed under both, so they do not tilt the race between the two: only
``ved`` as "knows" is Danish (Norwegian ``vet``), and only the infinitive ``at`` is Danish
(Norwegian ``å``), which the frequency lists reflect.

``no`` covers Bokmål and Nynorsk alike. Languages outside :data:`detectors.language.SUPPORTED_LANGS`
are here only so their texts are recognised as *not* ours (they get neutral sentiment).
"""

CUES = """
sv: och inte jag är att ett för till av vad eller när nu bara också mycket inga hade skulle efter sedan mig dig sig
sv: hur varför här där något några hon henne honom blev bli vara kommer får gör göra allt alla andra dem deras
sv: vår mer bra tack hej redan aldrig alltid ju väl nej kanske själv genom utan mellan över innan vilket vilken
sv: både hos igen ens ännu fick sa sagt tror tycker vill måste borde kunde ska skall sina dessa detta denna samma
sv: väldigt jättebra köpte beställde beställning leverans kund kundtjänst pengar tillbaka fått varit finns också
sv: från oss ni er era min mitt mina din ditt dina hans hennes sitt man vi de den det som på med har var men om så
sv: kan en dag tid hem fast än vet se sen lite mer många dock därför eftersom medan mot sverige svensk svenska
sv: någon inget ingenting sådan sånt jätte rätt fel sämsta bästa tyvärr mkt dom nåt väntat fortfarande ungefär
sv: trevlig trevligt snabb snabbt enkelt smidigt rekommenderar rekommendera nöjd missnöjd köp paket butik
no: ikke ikkje jeg eg meg deg seg hva hvordan noe noen mye av etter til også bare ble blir være kunne nå ut opp
no: hos fra mellom gjennom fordi uten sammen hver slik sånn veldig kjempe litt mange kanskje synes tror takk
no: hei dere oss vår deres hennes hans hun henne ham dem ingen ei kva korleis berre eit ein dei vere frå òg sjølv
no: heller fortsatt enda og det som på med har var men om så kan en dag er å jo når der her hvor hvis hvorfor
no: gjøre gjør gjort gjerne igjen aldri alltid siste første penger norge norsk norske nok mer enn godt bra flott
no: helt skal vil min mitt mine din ditt dine sin sitt sine vi de den et meget dårlig fornøyd kunden kundeservice
no: tilbake fikk sier sa sagt hadde både mot etter mens derfor likevel også egentlig ganske skikkelig nesten
no: blitt vært bli kommer går gikk fått får må kan ville skulle burde noen noe ting folk tid år dager uker
no: boka ikkje dette disse denne samme selv altså heilt ingenting noko nokon mykje kvar kven berre
da: af hvad nogle noget nogen meget efter nu ud op lidt måske mellem gennem uden sådan jer vores jeres hende
da: hendes os gøre gør gjort bliver blev havde være kunne skal vil også selv rigtig sgu jo lige både hvis
da: hvorfor synes fordi altså derfor igen tak hej vi det der at ikke jeg mig dig sig her hver hvor hvornår når
da: aldrig altid sidste første mange penge og som på med har var men om så kan en dag er til fra hun ham dem
da: ingen mere end godt godt dårlig helt min mit mine din dit dine sin sit sine de den et danmark dansk danske
da: tilbage fik siger sagde sagt mod mens alligevel egentlig ganske næsten blevet været bliver kommer går gik
da: fået får må ville skulle burde ting folk tid år dage uger dette disse denne samme ingenting kunne kommunen
da: regeringen politiet børn bare hvordan heller virkelig vildt endnu godt gang får synd undskyld ellers enig
no: fikk kjøpt kjøpe kjøper skjønner sykkel syk ble hadde sier gikk tok ute inne bok boka uke uker dager
no: språk spørsmål nettopp trenger kjenner lett stygg flott slutt tatt sett vært dessverre gutt jente jenter
no: vet nei hei reise vei kjørt ennå fremdeles sjelden gjerne mot sa ga dem
no: at ved virkelig gang synd ellers enig hverken kommunen politiet hjem stadig
da: nok deres sammen hverken hos tror hans kunden kundeservice hjem stadig
da: fik havde sagde siger gik tog gav ude inde bog uge uger dage sprog spørgsmål kender grim slut taget set
da: været desværre syg pige piger dreng drenge behøver brug købe købt køber kørt blevet ved igennem øjeblik
da: høj rejse vej nej jer jeres mod gav sgu
en: the and to of a in is it you that for on with this my be have not are was but at so just me your can what
en: get all do no we they will from an if or about out up one how when like would there their been has had
en: them who more why our us please thanks thank any been could should don't can't i'm it's im dont cant its
en: very really still never again waiting order service customer help hours days since after yet got any
en: i he she his her him our which than then were also only because over back new now good great bad worst
pl: i w z na się nie że to jest do co jak ale o tak po już od za czy mi mnie jestem był była przez tylko dla
pl: ten ta te jego ich jej bardzo są może też jeszcze nawet kiedy gdzie dlaczego który która które bo a ja ty
pl: on ona my wy oni was nas go jej sobie coś ktoś nic nikt wszystko wszyscy teraz dzisiaj jutro wczoraj
pl: będzie było były być mam ma mają można trzeba chyba tylko więc albo lub oraz także również przed pod nad
pl: jako jednak gdy żeby aby czyli nigdy zawsze tu tam dziś taki takie jaki jakie pan pani państwo polska
pl: polski polskie się dzięki proszę dobrze źle super fajnie szkoda niestety ciągle wciąż znowu już jeszcze
de: der die das und ist nicht ich du er sie es wir ihr ein eine einen dem den des mit auf für von zu im auch
de: sich aber noch wie wenn dann nur schon mal bei nach aus war hat haben sind werden wird kann mein dein
de: sehr gut danke bitte kein keine nichts immer wieder heute jetzt warum oder weil dass über
fr: le la les et est pas je tu il elle nous vous ils un une des du de dans pour sur avec ce cette qui que
fr: mais ou où sont ont avoir être très bien merci plus moi toi mon ma mes ton ta tes au aux ne rien
es: el la los las y es no que de en un una por para con del al lo se su sus pero más muy gracias está
es: estoy son hay como cuando porque yo tú él ella nosotros también todo nada siempre nunca bien mal
it: il lo la gli le e è non che di in un una per con del della sono ma più molto grazie anche come
it: questo questa quello sempre mai bene male perché io tu lui lei noi voi cosa tutto niente
nl: de het een en is niet ik je jij hij zij wij we van op voor met dat die dit zijn was maar ook
nl: heb hebt heeft nog wel geen bij naar uit om al als dan er wat hoe waarom bedankt graag goed
pt: o a os as e é não que de em um uma por para com do da dos das mas mais muito obrigado obrigada
pt: está estou são como quando porque eu você ele ela nós também tudo nada sempre nunca bem mal
fi: ja on ei se että mutta kun niin oli ovat olen olet hän me te he tämä tuo mikä miksi kiitos
fi: minä sinä mitä kanssa myös vain nyt jo vielä aina koska jos sitten tai hyvä huono erittäin
"""
