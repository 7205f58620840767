"""English word lists: the base sentiment lexicon is VADER's (``vader_lexicon.txt`` from the
``vaderSentiment`` package, read from its installed data file, see :mod:`detectors.lexicons`); this
hand-written list adds customer-service words VADER lacks or scores as neutral, and the complaint
vocabulary. Format as in :mod:`detectors.lexicons.sv`.
"""

VALENCE = """
3: never_fails well_done highly_recommend top_notch
2: recommend* smooth* seamless* prompt* speedy helpful* resolved sorted fixed
-3: never_again ripped_off rip_off scam* scammed rude* useless* unacceptable* pathetic* shambles joke
-3: worst incompetent* disgrace* appalling* horrendous* atrocious* unprofessional* ridiculous*
-2: delayed delay delays cancelled canceled cancellation stuck stranded broken faulty defective overcharged
-2: refund_please no_response no_reply not_working doesn't_work doesnt_work won't_work isnt_working
-2: on_hold lost_my lost_our missing damaged glitch* outage* crash* crashed crashes bug bugs buggy
-1: waiting still_waiting wait hours_later queue charged fee fees
"""

NEGATORS = ("not no never none nobody nothing neither nor without cannot hardly aint ain't n't "
            "don't doesn't didn't isn't wasn't can't won't wouldn't shouldn't aren't haven't hasn't "
            "couldn't weren't dont doesnt didnt isnt wasnt cant wont wouldnt shouldnt arent havent "
            "hasnt couldnt werent")
INTENSIFIERS = ("very really so extremely totally absolutely completely incredibly super utterly truly "
                "highly most such too fucking damn bloody seriously insanely hugely especially "
                "exceptionally remarkably terribly awfully")
DAMPENERS = "slightly somewhat kinda barely little bit fairly partly marginally hardly sort_of kind_of"
CONTRAST = "but however though yet although"
INTENSIFIER_PREFIXES = ("super", "mega", "ultra")
IRONY = ("thanks for nothing", "yeah right", "just great", "just what i needed",
         "love it when", "#sarcasm", "#not", "/s", "so much for")

# Complaint vocabulary, hand-written. Weight 3 and 2: words that report a problem (a delay, a
# refund, something broken or missing, being kept waiting, being let down). Weight 1: what
# customer posts are about (an order, a flight, the app, an account): topic words that a question
# or a thank-you uses as much as a complaint, so they only add to problem evidence.
COMPLAINT = """
3: delay* late cancel* refund* compensat* never_again worst rude* out_of_stock
3: unacceptable* no_response no_reply not_working doesn't_work doesnt_work stopped_working broken faulty
3: defective overcharged still_waiting been_waiting ripped_off rip_off scam* fraud* disgust* appall*
3: useless* pathetic ridiculous incompetent* unprofessional* lost_my lost_our
3: wrong_order never_arrived never_received hasn't_arrived hasnt_arrived not_received not_delivered
3: hung_up hangs_up hang_up let_down letting_me_down let_me_down fed_up sick_of are_you_kidding
3: money_back my_money charged_twice double_charged expired #fail still_no
2: waiting complain* dissatisfied disappoint* frustrat* crash* error* bug* glitch* outage* stuck stranded
2: missing damaged cancelled fix sort_it issue* problem* nobody_answers no_one ripped torn leaking leak*
2: keeps keep_getting keeps_saying supposed_to should_have lies lie lied joke slow overdue
2: unhappy annoy* angry furious tired_of wtf smh ugh worse fail failed failing
2: where_is when_will still_haven't still_havent haven't_received havent_received didn't_receive
2: didn't_work did_not_work does_not_work isn't_working not_happy no_longer anymore unable can't_get
2: won't_let wont_let cant_get locked overcharg* wrong incorrect not_allowed can't_help any_update
2: get_rid_of got_rid_of bring_back bringing_back discontinu* kidding
1: wait hours days weeks months still yet again order* deliver* package parcel shipment
1: charged charge fee* bill* billing account app down luggage bag baggage on_hold hold callback
1: call_back tried twice three_times times wifi signal connection internet service engineer replacement
1: return* receipt ticket* flight* train* repair* customer_service customer_care
1: why how_come seriously anyone ever please help support product item purchase bought
1: paid pay money today yesterday promised told called calling phone email emailed contacted
1: nothing nobody months_ago weeks_ago days_ago unexpected terrible awful horrible
3: stolen refused refuses refusing mistreated ruined ruining waste_of sucks suck
3: never_got never_came never_showed still_not still_don't still_dont not_resolved unresolved no_answer
3: locked_out hacked unauthorized misleading false_advertising wrong_item wrong_size cracked
3: food_poisoning undercooked inedible stale mouldy moldy filthy overpriced extortionate out_of_order
2: broke wasted dirty rubbish garbage crap trash sucked terrible_service poor_service bad_service horrible_service
2: ignored ignoring ignore voicemail* automated escalat* drain* overheat* freez* froze frozen lagging laggy
2: inaccurate impossible misinform* unfair disconnected cut_off went_out no_signal no_internet no_power
2: blackout smell* stink* stank noise noisy scratched dented leaked mistake* messed_up mess
2: what's_going_on what's_up_with whats_going_on what_the_hell what_the_heck why_is why_are
2: why_do why_does why_did why_can't why_cant why_won't why_wont why_isn't why_isnt why_would why_has why_have
2: ran_out_of run_out_of sold_out not_loading won't_load wont_load can't_log cant_log
1: reply respond* response dm staff employee* manager driver agent store location website site online
1: login password update battery screen warranty claim subscription contract invoice delivery
1: restock* back_in_stock
"""
PRAISE = """
3: thank_you thanks_so_much thank_u well_done great_service amazing_service love_you love_it highly_recommend
2: thanks thx ty love great awesome amazing brilliant excellent best fantastic appreciate* perfect kudos
2: shoutout shout_out wonderful helpful* happy pleased quick_response resolved fixed
"""
QUESTION = ("how why what when where who which whom whose can could would will is are do does did "
            "anyone any")
