"""Swedish word lists, hand-written by this project (no usable Swedish lexicon ships on PyPI: the
vaderSentiment-swedish package is a machine translation of VADER, installs over vaderSentiment and
scored 0.57 here).

``VALENCE`` lines are ``score: words``, score on VADER's -4..+4 scale; a trailing ``*`` marks a stem
that matches any word it begins (``besvik*`` matches ``besviken``, ``besvikelse``). Complaint cues
(``COMPLAINT``) are scored separately by :mod:`detectors.complaint`; those that are also plainly
unpleasant (``försenad``) appear in ``VALENCE`` too.
"""

VALENCE = """
4: fantastisk* underbar* suverän* perfekt* strålande enastående magisk* älskar älska* bäst bästa toppenbetyg
4: kanonbra superbra jättebra skitbra grymt grym grymma ljuvlig* fenomenal* felfri*
3: utmärkt* toppen lysande härlig* vacker* snygg* imponera* rekommender* tacksam* glad glada gladare glädje
3: lycklig* förträfflig* kanon proffsig* supertrevlig* jättetrevlig* jättenöjd* supernöjd* supersnabb*
2: bra nöjd* trevlig* smidig* snabb* enkel* enkelt fin fint fina finfin* gillar gilla* trivs skön* roligt rolig
2: kul positiv* professionell* hjälpsam* vänlig* tillmötesgående pålitlig* prisvärd* effektiv* grattis tack
2: tackar tacka lyckad* lyckades smart* gott god goda bekväm* stabil* välkommen* uppskatta* framgång* vinst
2: bättre smidigt problemfri* toppkvalitet toppenservice omtänksam* kunnig* engagerad* serviceinriktad*
2: älskade fräsch* mysig* härligt billig* prisvärt värt tryggt trygg* tydlig* snällt snäll* glädjande
1: okej ok schysst* lugn* ren rent rena intressant* fungerar funkar funkade fungerade lätt lättare säker*
1: hoppas hoppfull* gärna enkelhet snabbhet rimlig* punktlig* stämde ordning
-4: värdelös* vidrig* katastrof* bedrövlig* urusel* uruselt hemsk* avskyvärd* sämst sämsta skandal* bedrägeri*
-4: bedragare oseriös* hatar hata* vedervärdig* fruktansvärd* skräp skräpet skitdålig* bluff* lurendrej*
-3: dålig* dåligt usel* oförskämd* otrevlig* arg arga argt förbannad* besvik* missnöjd* irriter* ilsk*
-3: frustrer* skit skiten skitsnack kass kasst lurad* lurade lurar lura ljug* ljuger ljög blåst blåsta idiot*
-3: pinsam* skandalös* inkompetent* oacceptabel* förfärlig* respektlös* olycklig* ledsen ledsna tråkig*
-3: aldrig_mer nonchalant* otrevligt oprofessionell* ohövlig* ovänlig* ointresserad*
-2: sönder trasig* felaktig* fel problem* försen* krångl* strul* jobbig* orolig* rädd* svår* långsam* för_sent sent_igen
-2: dyr dyrt dyra klaga* klagomål* reklamation* reklamera* kritik* saknas saknar tyvärr tyvarr synd oklar*
-2: rörig* stressig* ohjälpsam* obehaglig* förlust* förlora* förstör* skada skadad* skadade farlig* misslyck*
-2: brist* inställd* inställt stulen stöld hot hotet hotade död döda dödade sjuk sjuka sämre slarv* slarvig*
-2: oseriöst struntar strunta* struntade ignorer* svarar_inte krångel avgift* kostade överpris* trög* trögt
-2: omöjlig* konstig* knepig* bråk* dumt dum dumma fusk* besvär* obegriplig* hemskt tröttsam* trött
3: kärlek älskling lycka grattis grattis_på_födelsedagen underbart spännande äntligen heja vinna vann
2: mysigt mysig härligt roligt skönt glädjande lyckat toppen_tack tacksamhet hurra bravo
-3: fan jävla* jävl* helvete helvetes satan satans fy_fan fy_faen förjävlig* skitsnack
-1: nej usch tyvärr_inte
3: stolt stolta stolthet vackert seger segra* vinnare välförtjänt* beundr* modig* gullig* inspirer*
2: klok kloka klokt skoj* söt söta sött respekt* stark starka starkt bravo imponerande tryggare
-3: lögn* hyckl* äckl* tragisk* sorglig* svek svika sviker svikit patetisk* löjlig* ångest hat hatet
-3: terror* mord* våld* orättvis* värst klantig* skämmig*
-3: värsta ohållbar* sinnessjuk* ondska avsky* oförskämt skrämmande diskriminer* korrupt*
-2: nedskärning* kritiser* korkad* korkat gnäll* meningslös* dödsfall ond deppig* smärta olycka olyckan
-2: olyckor stressad* svält* fattig* orättvisa förtryck*
2: lovande gött najs schyst succé* hyllning* hyllar hylla* jubel jubla* firar fira* festlig*
-2: skäms skam dumhet* rasis* kris krisen kaos fattigdom* galen* sorg sorgen ledsam* rädsla attack*
-2: krig kriget förlorade störande störig* fånig* absurd* oroande orolig* amatörmässig* bedrövligt
-1: oro varning stör
-1: vänta väntat väntade väntan dröj* kö kön trist* tveksam* tyvärr varken saknade glömde glömt tappade
"""

NEGATORS = "inte ej aldrig ingen inget inga icke knappast varken utan int"
INTENSIFIERS = ("mycket väldigt jätte extremt otroligt riktigt verkligen helt så super sjukt galet totalt "
                "ytterst oerhört särskilt enormt fruktansvärt grymt sjukt mkt")
DAMPENERS = "lite ganska något typ nästan delvis relativt hyfsat"
CONTRAST = "men dock fast ändå"
#: Compound prefixes that intensify (``jättebra``) when the whole compound is not in VALENCE.
INTENSIFIER_PREFIXES = ("jätte", "super", "mega", "kanon", "skit", "sjukt", "toppen", "svin")
IRONY = ("tack för ingenting", "tack för inget", "jo tjena", "#ironi", "#sarkasm")

#: Complaint cues: ``weight: words``; stems with ``*`` as in VALENCE.
COMPLAINT = """
3: försen* förseningen inställd* inställt återbetalning* återbetala* reklamation* reklamera* pengarna_tillbaka för_sent sent_igen
3: kundtjänst* kundservice* aldrig_mer aldrig_igen bedrövlig* oförskämd* otrevlig* oprofessionell* bluff*
3: svarar_inte inget_svar ingen_svarar ersättning* kompensation* skadad* skadade sönder trasig* stulen
2: väntat väntar väntade väntan timmar dagar veckor månader fortfarande ännu_inte leverans* levererat
2: paketet ordern beställning* beställde faktura* debiter* avgift* dubbeldragning* tappat borttappad*
2: fungerar_inte funkar_inte fel varan varor klagomål* klaga* missnöjd* besvik* lurad* oseriös* struntar
2: avbok* ombok* försvunnen försvunnet bagage* väska* kö personal* bemötande avbokade stängd* spärrad*
1: tåget bussen flyget flyg avgång* ankomst* beställt köpt köpte kund pengar betalat betalade abonnemang*
1: support problem* ring* ringt mejl* mail* chatt* ärende* reklam* garanti*
"""
PRAISE = """
3: tack_så_mycket stort_tack tusen_tack rekommenderar rekommender* toppenservice jättenöjd* supernöjd*
2: tack tackar snabb_leverans bra_service trevlig_personal nöjd* proffsig* hjälpsam* smidigt
"""
QUESTION = "hur varför vad när var vem vilken vilket vilka kan ska går finns undrar fråga"
