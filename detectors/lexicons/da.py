"""Danish word lists: the base sentiment lexicon is AFINN-da from the ``afinn`` package (read from
its installed data file, see :mod:`detectors.lexicons`); this hand-written list adds social-media
words AFINN lacks and the complaint vocabulary. Format as in :mod:`detectors.lexicons.sv`.
"""

VALENCE = """
4: fantastisk* perfekt* genial* fremragende suveræn* elsker bedst bedste mega_godt super_godt
3: fedt fed fede sejt sej seje lækker* dejlig* hyggelig* vidunderlig* smuk* anbefal* taknemmelig* glad glade
3: tilfreds* fornøjet* imponer* skøn* flot flotte flotteste godt_gået tusind_tak
2: god gode godt bedre fin fint fine kan_lide elsker hurtig* nem nemt nemme venlig* hjælpsom* professionel*
2: tak sød* sjov* sjovt spændende rar rart enig positiv* rigtig_godt tryg* billig* effektiv* let lettere
1: ok okay fint fungerer virker håber rimelig* ordentlig*
-4: elendig* forfærdelig* frygtelig* katastrof* håbløs* ubrugelig* værdiløs* værst værste hader lort* lorte*
-4: skandale* svindel* svindl* pis* aldrig_igen aldrig_mere tåbelig* ækel* ulækker*
-3: dårlig* skuffe* irriter* sur sure vred* frustrer* fræk* uhøflig* uacceptabel* inkompetent* idiot* klam*
-3: latterlig* pinlig* løgn* lyver løj snyd* hyklerisk* hykler* skam skammelig* trist* kedelig* dum dumt dumme
-3: uforskammet* respektløs* uprofessionel* sindssyg* syg_i_hovedet fuck* fucking* crap
-2: langsom* forsink* ødelagt* ødelæg* fejl problem* klage* besværlig* svær* dyr dyrt dyre svag* synd for_sent
-2: kritik* mangel* mangler mislyk* tabt stjålet aflyst* spild* rod* kaos* farlig* bange* bekymr* stress*
-2: uretfærdig* forkert* skadet* skade* ondt grim* grimme træt* tvivlsom* uanstændig* desværre
3: tillykke kærlighed lykke heldig* glæder glæde* endelig hurra i_orden helt_i_orden
-3: fanden fandens fandme satan satans helvede for_helvede pokker*
3: stolt stolte stolthed smukt sejr vinder fortjent* beundr* modig* inspirer* fantastiske
2: klog kloge klogt respekt* imponeret bravo tryg trygt morsom* sjove
-3: løgn* hykl* ækel* ækle tragisk* sørgelig* svigt* patetisk* angst had hadet terror* mord* vold*
-3: uretfærdig* klodset* skammelig* forræd*
-2: skam dumhed* racis* krise krisen fattigdom* gal gale sorg frygt* angreb* krig krigen tabte
-2: forstyrr* absurd* bekymrende amatøragtig* dumme
-1: bekymring advarsel
-1: vente venter ventet kø uklar* mærkelig*
"""

NEGATORS = "ikke ikk ik aldrig ingen intet uden hverken næppe ingenting ingenlunde"
INTENSIFIERS = ("meget rigtig virkelig vildt mega super totalt helt så utrolig utroligt ekstremt enormt "
                "særdeles pisse sindssygt afsindig afsindigt vanvittigt ufattelig ufatteligt mest")
DAMPENERS = "lidt ganske næsten noget delvis relativt nogenlunde"
CONTRAST = "men dog alligevel derimod imidlertid"
INTENSIFIER_PREFIXES = ("mega", "super", "kæmpe", "pisse", "hamrende", "skide", "vildt")
IRONY = ("tak for ingenting", "tak for intet", "#ironi", "#sarkasme")

COMPLAINT = """
3: forsink* aflyst* refusion* refunder* pengene_tilbage erstatning* kompensation* kundeservice* for_sent
3: kundecenter* aldrig_igen aldrig_mere elendig* uforskammet* uhøflig* svindel* snyd* reklamation*
3: svarer_ikke intet_svar ingen_svar ødelagt* stjålet
2: venter ventet timer dage uger måneder stadig endnu_ikke levering* leveret pakken pakke* bestilling*
2: bestilte faktura* trukket gebyr* mistet forsvundet bagage* kuffert* virker_ikke fungerer_ikke fejl
2: varen klage* utilfreds* skuffe* kø afbestil* lukket* spærret*
1: toget bussen fly flyet afgang* ankomst* købt købte kunde penge betalt abonnement* support problem*
1: ringet ringe mail* chat* sag* garanti*
"""
PRAISE = """
3: tusind_tak tak_for_hjælpen anbefaler anbefal* supertilfreds* kæmpe_ros
2: tak hurtig_levering god_service venlig* tilfreds* hjælpsom* professionel*
"""
QUESTION = "hvordan hvorfor hvad hvornår hvor hvem hvilken hvilket hvilke kan skal går findes spørgsmål"
