"""Bundled person-name lists for the `person_name` detector (lower case, one word each).

A compact sample of common given names and surnames from several cultures (English, Spanish,
Portuguese, French, German, Italian, Dutch, Nordic, Slavic, Greek, Turkish, Arabic, Persian,
Indian, Chinese, Japanese, Korean, Vietnamese, African). Names that are also ordinary English
words ("will", "rose", "brown", "king", "long"...) are left out on purpose: they would fire on
plain text and on pack keys, and the capitalised First-Last rule still catches "John Brown"
through the given name. A test asserts that no listed name is a neutral word or a pack key word.
"""

from __future__ import annotations

FIRST_NAMES = frozenset(
    """
    aaron abdul abdullah abigail adam adrian adriana agnieszka ahmad ahmed aiko aisha akira alan
    albert alberto alejandro aleksandr alexander alexandra alexis alfredo ali alice alicia alina
    alison amanda amelia amir amit ana anastasia andrea andreas andrei andrew angela angelo anita
    anna anne annette anthony antonio anya arjun arnav arthur ashley astrid aurelie ayumi barbara
    beatriz benjamin bernard bianca bjorn brandon brenda brian bruno camila camille carla carlos
    carmen caroline catherine cecile charles charlotte chen cheng chiara chloe christian christina
    christopher claire claudia cristina cynthia daniel daniela dariusz david deborah deepak denise
    dennis diana diego dimitri dmitri dolores dominik donald dorothy duc eduardo elena elif elisa
    elizabeth ellen emilia emily emma emre enrique eric erik erika ernesto esther ethan eva evelyn
    fabio farah fatima federica felipe felix fernanda fernando fiona florian francesca francesco
    francisco francois freya gabriel gabriela george georgios gerhard giorgio giovanni giulia
    giuseppe gloria gonzalo gregory gustavo hamza hana hannah hans harold harry heather heinrich
    helen helena henrik henry hiroshi hugo hussein ibrahim ingrid irina isabel isabella ivan jacob
    jakub james janet janice jason javier jennifer jessica jiahui jian joanna joao johan johannes
    john jonathan jorge jose joseph joshua juan julia julian juliana julie jun justin kamal karen
    karin karl katarzyna katharina kathleen kavya kenji kevin khalid kimberly kirsten klaus
    krishna kristina kumar lakshmi larissa lars laura lauren leila leonardo leticia liam linda
    lisa lorenzo louis lucas lucia luis luisa lukas magdalena maria mariana marie marina mario
    marta martin mateo matthew maurice mehmet melissa mia michael michelle miguel mikhail minh
    mohamed mohammed monica mustafa nadia nancy naomi natalia natasha nathalie nicholas nicolas
    nikolai nina noah nora olga oliver olivia omar oscar pablo paolo patricia patrick paul paula
    pedro pierre pieter piotr pooja priya rachel rafael rahul rajesh ramon raquel rebecca ricardo
    richard roberto robert rodrigo rohan ronald rosa ruth ryan sabrina sakura samantha samuel
    sandra sara sarah satoshi sebastian sergei sergio shanti sharon shirin siddharth simone sofia
    sophie stefan stefano stephanie steven susan svetlana takashi tatiana teresa thomas timothy
    tomas vanessa vera veronica victor victoria vikram vincent vladimir walter wei wilhelm william
    xavier xin yasmin yuki yusuf yvonne zainab zanele zeynep zhang zoe jane mary peter kate lucy
    sophia ella ava leo mateus noor layla aarav ananya vivaan yuna haruto sota minjun seojun jiwoo
    thabo kwame amara chinedu ngozi oluwaseun tunde emeka
    """.split()
)

SURNAMES = frozenset(
    """
    abadi abe acheampong adeyemi agarwal aguilar ahmadi akhtar alvarez andersen anderson
    andersson antonelli araujo bajwa banerjee barbieri becker bernardi bertrand bianchi
    bogdanov bondarenko bose castillo castro chatterjee chavez chowdhury colombo costa cruz
    dasgupta dimitriou dubois dupont eriksson esposito fernandes fernandez ferrari fischer
    fontaine fujita garcia gomes gomez gonzalez gupta gutierrez hansen hashimoto hayashi
    henriksen herrera hoffmann hosseini huang ibrahim inoue ivanov ivanova iyer jackson jansen
    jensen johansson johnson jovanovic kaczmarek kato khan kim kimura kobayashi koch kovacs
    kowalczyk kowalski kozlov kumar kuznetsov larsen laurent lefebvre lewandowski lindqvist
    lopez lombardi lorenzo mahmoud malhotra marchetti martinez medina mehta mendoza meyer
    moreau morales moreno muller murphy nakamura nguyen nielsen nikolaidis novak nowak okafor
    okonkwo olsen ortiz ozturk papadopoulos patel pedersen pereira perez petrov petrovic
    popescu popov rahman ramirez ramos reddy richter rodriguez romano rossi ruiz russo saito
    sanchez santos sasaki schmidt schneider schulz schwarz shah sharma silva singh smirnov
    smith sokolov suzuki takahashi tanaka tran vargas vasquez verma volkov wagner wang watanabe
    weber williams wilson wojcik wolff yamada yamamoto yilmaz yoshida zhao zhou
    adams allen bailey clark evans thompson walker robinson lewis harris taylor moore davis
    hernandez nelson mitchell roberts campbell parker edwards collins stewart morris rogers
    peterson watson sanders bennett barnes henderson coleman jenkins powell sullivan russell
    diaz hayes myers gibson ellis stevens murray owens harrison wallace graham kennedy warren
    dixon burke chapman fleming novotny horvath nagy szabo toth varga dvorak svoboda cerny
    popa ionescu demir kaya sahin celik aydin arslan dogan haddad khoury nasser mansour farouk
    sadeghi rostami karimi mohammadi rezaei nair pillai menon rao joshi desai kapoor bhatt liu
    chen yang guo lin luo gao liang zheng lee choi jung kang cho yoon jang lim han shin seo
    kwon hwang ahn yoo hong jeon ito nakajima kondo ogawa goto matsumoto ishikawa maeda okada
    hasegawa fujii murakami pham hoang phan dang bui ngo duong mensah owusu boateng mwangi
    otieno kamau ndlovu dlamini nkosi mokoena abubakar bello eze nwosu diallo traore keita
    toure kone jimenez romero navarro torres dominguez vazquez serrano molina delgado ortega
    rubio marin iglesias oliveira souza rodrigues almeida carvalho ribeiro barbosa rocha dias
    teixeira moura neumann zimmermann braun kruger hofmann hartmann krause lehmann koehler
    huber girard bonnet mercier roux fournier morel garnier faure rousseau guerin perrin
    lambert leroy ricci marino greco gallo conti deluca mancini giordano rizzo moretti fontana
    caruso ferrara galli leone bakker visser smit meijer mulder peters hendriks dekker brouwer
    dijkstra karlsson nilsson larsson olsson persson svensson gustafsson pettersson jonsson
    lindberg lindstrom halvorsen haugen virtanen korhonen nieminen makinen laine zielinski
    szymanski wozniak dabrowski kaminski morozov lebedev semenov pavlov novikov fedorov
    kovalenko shevchenko melnyk horvat babic markovic nikolic pappas konstantinou vlachos
    oikonomou cohen levi mizrahi friedman katz goldberg rosenberg shapiro obrien kelly walsh
    byrne oconnor doyle mccarthy gallagher macdonald fraser
    """.split()
)

# Forms of address that make the next capitalised word a name ("Dr Okafor").
HONORIFICS = frozenset("mr mrs ms miss dr prof sir madam herr frau monsieur madame senor senora".split())
