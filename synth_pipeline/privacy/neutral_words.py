"""The neutral word list: the only words synthetic message content may contain.

DESIGN.md section 4 (*contract*): message content is drawn only from a fixed neutral word list.
This module is the canonical list; the generator draws from it and the dataset quality check
(`synth_pipeline.privacy.dataset_quality`) counts messages containing anything else.

Plain lower-case English words, ASCII letters only: no person names, places, brands, digits,
punctuation, or politically or personally sensitive words. Words are joined by single spaces
(`WORD_SEPARATOR`). The order is part of the contract: it is sorted and must stay stable,
because a seeded generator picks words by index, so appending or reordering words changes
every generated message. A test checks the list's invariants.
"""

from __future__ import annotations

WORD_SEPARATOR = " "

NEUTRAL_WORDS: tuple[str, ...] = tuple(
    """
    a ability able about above accept according account across act action activity actually add
    address administration admit adult affect after again against age agency agent ago agree
    agreement ahead air all allow almost alone along already also although always among amount
    analysis and animal another answer any anyone anything appear apply approach area argue arm
    around arrive article artist as ask assume at attention audience author authority available
    avoid away baby back bad bag ball bar base basket be beat beautiful because become bed before
    begin behavior behind believe benefit best better between beyond big billion biscuit bit blanket
    blue board body book born both bottle box boy bread break breakfast breeze bridge bring brother
    bucket budget build building business but butter button buy by cabin cable call camera can
    candle capital car card care career carpet carrot carry case castle catch cause cell center
    central century cereal certain certainly chair chalk challenge chance change character charge
    check cherry child choice choose circle citizen city civil claim class clear clearly cliff clock
    close cloud coach coffee cold collection college color comet commercial common community company
    compare computer concern condition conference consider consumer contain continue control cookie
    copper corner cost cotton could country couple course cover cozy crayon create cricket crumb
    cultural culture cup current cushion customer cut dark data daughter day deal debate decade
    decide decision deep defense degree describe desert design despite detail determine develop
    development difference different difficult dinner direction director discover discuss discussion
    do doctor dog door dough down draw drawer dream drive drop during each early easy eat economic
    economy edge education effect effort eight either else employee end energy enjoy enough enter
    entire environment environmental especially establish even evening event ever every everybody
    everyone everything evidence exactly example executive exist expect experience expert explain
    eye face fact factor fall family far fast father fear feather feel feeling fence few field fight
    figure fill film final finally financial find fine finish fire firm first fish five floor fly
    focus follow food foot for force foreign forest forget form former forward fountain four free
    friend from front full fund future game garden gas general generation gentle get girl give glass
    glove go goal good gravel great ground group grow growth guess hair half hand happen happy
    harbor hard have he head health hear heart heavy helmet help her here herself high him himself
    his history hit hold home honest hospital hot hotel hour house how however huge human hundred
    idea identify if image imagine impact important improve in include including increase indeed
    indicate individual industry information inside instead institution interest interesting
    international interview into investment involve issue it item its itself jacket jelly job join
    just keep kettle key kid kind kitchen kitten know knowledge ladder lamp land language lantern
    large last late later laugh lay lead leader leaf learn least leave left leg lemon less let
    letter level life light like likely line list listen little live local look lose loss lot low
    lunch machine magazine main maintain major majority make man manage management manager many
    marble market marriage material matter maybe me meadow mean measure media medical meet meeting
    melon member memory mention message method middle might million mind minute mirror mission model
    modern moment month more morning most mother mouth move movement movie much muffin music must my
    myself name narrow natural nature near nearly necessary need needle network never new news
    newspaper next night no none noodle nor not note nothing notice now number occur ocean of off
    offer office officer official often ok old on once one only onto open operation opportunity
    option or orbit order organization other others our out outside oven over own owner paddle
    painting paper parent part participant particular particularly partner pass past pattern pay
    peace pebble pencil people pepper per perform performance perhaps person personal phone physical
    pick picture piece pillow pine place plan planet plant plate play player pocket point policy
    pond poor popular population position positive possible potato power practice prepare present
    pressure pretty prevent probably process produce product production professional professor
    program project property protect prove provide public pull purpose push put puzzle quality
    question quickly quiet quilt quite rabbit radio rainbow raise range rate rather reach read ready
    real reality realize really reason receive recent recently recognize record red reduce reflect
    region relate relationship remain remember report represent require research resource respond
    response responsibility rest result return reveal ribbon right rise risk road rocket role room
    rule run saddle safe sail salad same sand sandal save say scarf scene school science scientist
    score sea season seat second section security see seek seem sell send senior sense series
    serious serve service set seven several shake share she shelf short should shoulder show side
    sign significant silver similar simple simply since sing single sister sit site situation six
    size skill skin sleepy slipper small smile snow so social society sock soft some somebody
    someone something sometimes son soon sort sound source space speak special specific speech spend
    spoon sport spring squirrel staff stage stair stand standard star start state statement station
    stay step still stock stop store story strategy street strong structure student study stuff
    style subject success successful such suddenly suffer sugar suggest support sure surface sweater
    system table take talk task teach teacher team teapot technology television tell ten tend term
    test than thank that the their them themselves then theory there these they thing think third
    this those though thought thousand three through throughout throw thus ticket time tiny to today
    together tomato tonight too top total tough toward towel town trade traditional training travel
    treat treatment tree trip trouble true truth try tulip tunnel turn two type umbrella under
    understand unit until up upon us use usually valley value various velvet very view violin visit
    voice wagon wait walk walnut want watch water wave way we wear week weight well whale what
    whatever wheel when where whether which while whisper who whole whom whose why wide willow win
    wind window wish with within without woman wonder wooden word work worker world worry would
    write writer wrong yard yeah year yellow yes yet you your yourself zipper
    """.split()
)

NEUTRAL_WORD_SET: frozenset[str] = frozenset(NEUTRAL_WORDS)
