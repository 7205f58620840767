"""Norwegian (Bokmål and Nynorsk) word lists, hand-written by this project.

Norwegian sentiment uses the Danish AFINN lexicon from the ``afinn`` package (the written
languages share most of their vocabulary) and, at half weight below it, the Norwegian AFINN
translation shipped in the ``asent`` package (see :mod:`detectors.lexicons.external`), with this
list on top for Norwegian spellings and words (``fornøyd``, ``kjempebra``, ``forsinket``, ``ikkje``).
Format as in :mod:`detectors.lexicons.sv` (``*`` = stem, ``_`` joins a phrase).
"""

VALENCE = """
4: fantastisk* nydelig* perfekt* strålende suveren* fenomenal* kjempebra kjempegod* knallbra superbra elsker
4: best beste genial* magisk* imponerende
3: flott* herlig* utmerket utmerka vakker* anbefal* takknemlig* glad glade gledelig glede lykkelig*
3: fornøyd* fornøgd* dyktig* flink* hyggelig* koselig* trivelig* vennlig* hjelpsom* profesjonell*
3: kjempefin* kjempefornøyd* supert sterk* sterkeste morsom* artig* solid* vellykket spennende
2: bra god gode godt bedre fin fint fine liker likte likt enkel* enkelt effektiv* rask* raskt pålitelig*
2: behagelig* interessant* pen pene pent takk tusen_takk positiv* gøy moro smart* trygg* billig* fantastisk
2: lett lettere ryddig* punktlig* imponert* overrask* underholdende rørende vakkert
1: ok okei grei greit greie helt_greit fungerer funker funket håper rimelig*
-4: elendig* forferdelig* fryktelig* grusom* katastrof* håpløs* ubrukelig* verdiløs* verst verste hater
-4: svindel* svindl* dritt drittdårlig* dritdårlig* møkk* patetisk* skandal* aldri_mer
-3: dårlig* skuffe* skuffende skuffelse irriter* sint* forbanna frustrer* frekk* uhøflig* uakseptabel*
-3: inkompetent* kaos* hate* avsky* kjip* latterlig* pinlig* lurt lurte løgn* lyver lyg* trist* kjedelig*
-3: useriøs* uprofesjonell* respektløs* ubehagelig* tåpelig* teit* dum dumt dumme idiot*
-2: treg* tregt sein* forsink* ødelagt* ødelegg* feil problem* klage* vanskelig* tungvin* dyr dyrt dyre for_sent
-2: svak svake svakt lei synd kritikk* mangel* mangler mislykk* tapte stjålet kansellert* innstilt* bortkastet
-2: vondt vond* smerte* syk* farlig* redd* bekymr* stress* rotete rot kaotisk* slitsom* plage* plaget
-2: skadet skade* knust* sur* kjipt sliten trøtt ensformig* uinteressant* middelmådig* forvirr* overpris*
3: gratulerer kjærlighet lykke heldig* gleder hurra endelig
-3: faen fy_faen jævla* jævl* helvete helvetes satan satans forbanna
3: stolt stolte stolthet vakkert seier vinner fortjent* beundr* modig* søt søte inspirer* nydelige
2: klok kloke klokt gøy respekt* imponert bravo trygg trygt morsomme
-3: løgn* hykl* ekkel* ekl* tragisk* sørgelig* svik svikt* patetisk* latterlig* angst hat hatet
-3: terror* drap* vold* urettferdig* klønete skammelig*
-2: skam dumhet* rasis* krise krisen kaos fattigdom* gal gale sorg trist* frykt* angrep* krig krigen
-2: tapte forstyrr* absurd* bekymringsfull* amatørmessig*
-1: bekymring advarsel
-1: venting ventet vente kø dessverre uklar* tynn* tynt ikkje_noko flat* forutsigbar* ujevn* rar*
"""

NEGATORS = "ikke ikkje aldri ingen intet inga inkje uten utan verken hverken neppe ingenting ikk"
INTENSIFIERS = ("veldig svært kjempe utrolig utrolige ekstremt skikkelig virkelig helt så super sykt "
                "totalt meget særdeles aller enormt voldsomt kjempe mega ekstra spesielt")
DAMPENERS = "litt ganske nesten noe delvis relativt noenlunde"
CONTRAST = "men likevel derimot imidlertid allikevel"
INTENSIFIER_PREFIXES = ("kjempe", "super", "mega", "knall", "drit", "dritt", "svinaktig", "kanon")
IRONY = ("takk for ingenting", "takk for ingen ting", "ja sikkert", "#ironi", "#sarkasme")

COMPLAINT = """
3: forsink* innstilt* kansellert* refusjon* refundere* pengene_tilbake erstatning* kompensasjon* for_sent
3: kundeservice* kundesenter* kundestøtte aldri_mer aldri_igjen elendig* frekk* uhøflig* svindel*
3: svarer_ikke ikke_svar ingen_svar ødelagt* knust* stjålet reklamasjon* reklamere*
2: venter ventet venting timer dager uker måneder fortsatt enda_ikke levering* levert pakken pakke*
2: bestilling* bestilte faktura* trukket gebyr* dobbelt_trukket mistet borte forsvunnet bagasje* koffert*
2: fungerer_ikke virker_ikke funker_ikke feil varen klage* misfornøyd* skuffe* lurt useriøs* kø
2: avbestill* ombook* stengt* sperret*
1: toget bussen fly flyet avgang* ankomst* kjøpt kjøpte kunde penger betalt abonnement* support
1: problem* ringt ringe e-post mail* chat* sak* garanti*
"""
PRAISE = """
3: tusen_takk takk_for_hjelpen anbefaler anbefale* kjempefornøyd* superfornøyd*
2: takk rask_levering god_service hyggelig fornøyd* hjelpsom* profesjonell*
"""
QUESTION = "hvordan hvorfor hva når hvor hvem hvilken hvilket hvilke kan skal går finnes lurer spørsmål korleis kva kvifor"
