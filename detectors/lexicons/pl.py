"""Polish word lists, hand-written by this project. Under them lies the hand-built lexicon of the
Polish VADER port on PyPI (polvader), read from its data files only, because the package itself
needs spaCy and a spaCy model that is not on PyPI (see :mod:`detectors.lexicons.external`). Polish inflects
heavily, so most entries are stems (``*``); ``nie`` fused to an unknown word (``niemiły``) is read as
the negation of the rest (see :mod:`detectors.sentiment`). Format as in :mod:`detectors.lexicons.sv`.
"""

VALENCE = """
4: świetn* wspaniał* doskonał* znakomit* rewelac* genialn* idealn* cudown* najlepsz* fantastyczn* kocham
4: uwielbiam uwielbia* perfekcyjn* bomba zajebist* sztos
3: super piękn* polecam poleca* zadowol* szczęśliw* zachwyc* brawo gratul* dziękuj* dzięki dzieki dziekuje
3: fajn* ekstra rewelka mistrz* mistrzost* sukces* radość radoś* uśmiech* wygra* wygran* kochan*
2: dobr* dobrze lepsz* lepiej miło mił* uprzejm* pomocn* szybk* sprawn* profesjonaln* podoba lubię lubi*
2: spoko przyjemn* bezpieczn* wygodn* ładn* pozytywn* ciekaw* warto wart* nadziej* smaczn* uczciw* tani*
1: ok okej dobra jasne zgoda spokojn* działa
-4: okropn* fataln* tragiczn* beznadziej* żenad* żenując* skandal* oszust* koszmar* masakr* nienawidz*
-4: nienawiść gówn* chujow* kurw* dno syf* badziew* chłam najgorsz* porażk* katastrof* żałosn*
-3: zły zła złe złego złej złym złych złości* złość źle wkurz* wkurw* zdenerwowan* denerwuj* irytuj*
-3: rozczarow* zawiedzion* zawód niezadowol* kłam* oszuk* kradzież ukradl* ukradł* głup* idiot* debil*
-3: kretyn* chamsk* cham bezczeln* nieuprzejm* niemił* skandaliczn* obrzydliw* wstyd* hańb* zdrad*
-3: smutn* przykr* niestety bezużyteczn* bezsens* absurd* kpina farsa
-2: problem* awari* zepsu* uszkodz* zniszcz* opóźni* spóźni* reklamac* skarg* strach* boję bać groźn*
-2: niebezpieczn* choro* śmier* zabi* wojn* atak* kryzys* bieda* drożej drogo słab* gorsz* gorzej nudn*
-2: chaos* bałagan* brak* brakuje lekceważ* ignoruj* olewa* olał* błąd* błęd* strat* trudn* ciężk*
-2: martwi* obaw* krytyk* protest* kłopot* męcz* żal* szkoda biedn* ofiar* zmarł* zginął* zginęł* płacz*
3: szczęście wesoł* zapraszam zapraszamy świętuj* hura nareszcie miłość udan*
-3: kurde cholera pierdol* jeb* spierdal* wypierdal* chuj* zjeb* debilizm żenujące
3: dum* zwycię* wygrał* bohater* odważn* mądr* inspiruj* wzrusz* pięknie cudownie brawa
2: szacun* szacunek respekt* bezpieczeństw* ciesz* uroczy* słodk*
-3: kłamstw* obłud* hipokryz* obrzydl* tragiczn* żałob* zdrad* zdradz* nienawidzi* nienawiść terror*
-3: morderstw* morderc* przemoc* niesprawiedliw* żenujący żałosne skandal*
-2: wstyd głupot* rasis* kryzys* bieda* wojna wojny wojnie smutek strach lęk* atak* zagroż* absurd*
-2: niepokoj* martwię przegra* strach*
-1: ostrzeż* obawy
-1: czeka* czekam kolejk* niepokoj* dziwn* wątpliw*
"""

NEGATORS = "nie nigdy ani bez żaden żadna żadne żadnego nic nikt"
INTENSIFIERS = ("bardzo naprawdę strasznie mega super totalnie kompletnie niesamowicie niezwykle "
                "wyjątkowo szczególnie całkowicie zupełnie tak taki taka takie najbardziej wielce "
                "ogromnie bardziej serio")
DAMPENERS = "trochę dość raczej nieco prawie lekko"
CONTRAST = "ale lecz jednak natomiast tylko_że chociaż"
INTENSIFIER_PREFIXES = ("super", "mega", "hiper", "ultra", "arcy", "przy")
IRONY = ("dzięki za nic", "jasne jasne", "brawo wy", "#ironia", "#sarkazm")

COMPLAINT = """
3: opóźni* spóźni* odwołan* zwrot_pieniędzy zwrot_kosztów zwrotu_pieniędzy odszkodowan* reklamac*
3: obsługa_klienta obsługi_klienta infolinia* infolinii nigdy_więcej skandal* oszust* oszuk* chamsk*
3: nie_odpowiada nie_odpowiadają brak_odpowiedzi zepsu* uszkodz* ukradl* ukradł*
2: czekam czekał* czekać czeka* godzin* dni tygodni* miesięc* nadal wciąż ciągle jeszcze_nie dostaw* przesyłk*
2: paczk* zamówien* zamówił* faktur* pobral* opłat* zgubi* zaginął zaginęł* bagaż* walizk* nie_działa
2: błąd* towar* skarg* niezadowol* rozczarow* kolejk* anulow* zablokowan*
1: pociąg* autobus* lot* samolot* odjazd* przyjazd* kupił* kupion* klient* pieniądze zapłaci* abonament*
1: problem* dzwoni* mail* czat* sprawa* gwarancj*
"""
PRAISE = """
3: dziękuję_bardzo bardzo_dziękuję serdecznie_dziękuję polecam poleca* gorąco_polecam
2: dzięki dziękuję szybka_dostawa miła_obsługa zadowol* profesjonaln* pomocn*
"""
QUESTION = "jak dlaczego czemu co kiedy gdzie kto który która które czy można da_się pytanie"
