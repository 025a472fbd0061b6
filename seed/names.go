package seed

// Embedded name and place lists. Order matters: changing them changes every population.

var femaleNames = []string{
	"Emma", "Olivia", "Ava", "Isabella", "Sophia", "Mia", "Charlotte", "Amelia", "Harper",
	"Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Avery", "Ella", "Scarlett", "Grace",
	"Chloe", "Victoria", "Riley", "Aria", "Lily", "Aubrey", "Zoey", "Penelope", "Hannah",
	"Nora", "Layla", "Leah", "Hazel", "Violet", "Aurora", "Savannah", "Audrey", "Brooklyn",
	"Bella", "Claire", "Skylar", "Lucy", "Paisley", "Anna", "Caroline", "Nova", "Genesis",
	"Emilia", "Kennedy", "Samantha", "Maya", "Willow", "Naomi", "Elena", "Sarah", "Ariana",
	"Allison", "Gabriella", "Alice", "Madelyn", "Cora", "Ruby", "Eva", "Serenity", "Autumn",
	"Adeline", "Hailey", "Gianna", "Valentina", "Isla", "Eliana", "Quinn", "Ivy", "Sadie",
	"Piper", "Lydia", "Alexa", "Josephine", "Emery", "Julia", "Delilah", "Margaret", "Linda",
	"Patricia", "Barbara", "Susan", "Jessica", "Karen", "Nancy", "Betty", "Helen", "Sandra",
	"Donna", "Carol", "Ruth", "Sharon", "Michelle", "Laura", "Kimberly", "Deborah", "Priya",
	"Mei", "Yuki", "Fatima", "Aisha", "Ngozi", "Lucia", "Camila", "Ximena", "Keiko",
}

var maleNames = []string{
	"Liam", "Noah", "William", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason",
	"Logan", "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson",
	"Sebastian", "Aiden", "Matthew", "Samuel", "David", "Joseph", "Carter", "Owen", "Wyatt",
	"John", "Jack", "Luke", "Jayden", "Dylan", "Grayson", "Levi", "Isaac", "Gabriel",
	"Julian", "Mateo", "Anthony", "Jaxon", "Lincoln", "Joshua", "Christopher", "Andrew",
	"Theodore", "Caleb", "Ryan", "Asher", "Nathan", "Thomas", "Leo", "Isaiah", "Charles",
	"Josiah", "Hudson", "Christian", "Hunter", "Connor", "Eli", "Ezra", "Aaron", "Landon",
	"Adrian", "Jonathan", "Nolan", "Jeremiah", "Easton", "Elias", "Colton", "Cameron",
	"Carson", "Robert", "Angel", "Maverick", "Nicholas", "Dominic", "Jaxson", "Greyson",
	"Adam", "Ian", "Austin", "Santiago", "Jordan", "Cooper", "Brayden", "Roman", "Evan",
	"Richard", "Kenneth", "Steven", "Edward", "Brian", "Ronald", "George", "Kevin", "Raj",
	"Wei", "Hiroshi", "Omar", "Kwame", "Diego", "Javier", "Arjun", "Tariq", "Mohammed",
}

var familyNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
	"Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
	"Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen",
	"King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams",
	"Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins",
	"Reyes", "Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez",
	"Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos",
	"Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez", "Wood", "James",
	"Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez", "Castillo",
	"Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Chen", "Wang",
	"Singh", "Okafor", "Tanaka", "Kowalski", "Novak", "O'Brien", "Schmidt", "Muller",
	"Rossi", "Dubois", "Haddad", "Mensah", "Ivanova", "Larsen", "Yamamoto", "Khan",
}

var streetNames = []string{
	"Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Ave",
	"Lake Rd", "Hill St", "Park Ave", "Sunset Blvd", "River Rd", "Church St", "Highland Ave",
	"Meadow Ln", "Forest Dr", "Spring St", "Chestnut St", "Willow Way", "Franklin St",
	"Jefferson St", "Lincoln Ave", "Madison Ave", "Center St", "Mill Rd", "Ridge Rd",
	"Walnut St", "Cherry Ln", "Broadway", "Harbor View Dr",
}

type place struct{ City, State, Zip, Area string }

var places = []place{
	{"Boston", "MA", "02118", "617"}, {"Cambridge", "MA", "02139", "617"},
	{"Worcester", "MA", "01608", "508"}, {"Springfield", "MA", "01103", "413"},
	{"Lowell", "MA", "01852", "978"}, {"Quincy", "MA", "02169", "617"},
	{"Newton", "MA", "02458", "617"}, {"Somerville", "MA", "02143", "617"},
	{"Framingham", "MA", "01702", "508"}, {"Brockton", "MA", "02301", "508"},
	{"Salem", "MA", "01970", "978"}, {"Plymouth", "MA", "02360", "508"},
	{"Providence", "RI", "02903", "401"}, {"Warwick", "RI", "02886", "401"},
	{"Nashua", "NH", "03060", "603"}, {"Manchester", "NH", "03101", "603"},
	{"Hartford", "CT", "06103", "860"}, {"New Haven", "CT", "06510", "203"},
	{"Burlington", "VT", "05401", "802"}, {"Portland", "ME", "04101", "207"},
}

type raceCode struct{ Code, Display string }

var races = []raceCode{
	{"2106-3", "White"},
	{"2054-5", "Black or African American"},
	{"2028-9", "Asian"},
	{"1002-5", "American Indian or Alaska Native"},
	{"2076-8", "Native Hawaiian or Other Pacific Islander"},
}

// raceWeights are cumulative percentages aligned with races.
var raceWeights = []int{70, 84, 96, 98, 100}

var languages = []coding{
	{System: "urn:ietf:bcp:47", Code: "en-US", Display: "English (United States)"},
	{System: "urn:ietf:bcp:47", Code: "es", Display: "Spanish"},
	{System: "urn:ietf:bcp:47", Code: "zh", Display: "Chinese"},
	{System: "urn:ietf:bcp:47", Code: "pt", Display: "Portuguese"},
}

var organizationNames = []string{
	"Fhirbox General Hospital", "Riverside Family Practice", "Northside Community Health Center",
	"Harbor Internal Medicine Associates", "Valley Pediatrics and Family Care",
}

var specialties = []coding{
	{System: sysSNOMED, Code: "419772000", Display: "Family practice"},
	{System: sysSNOMED, Code: "419192003", Display: "Internal medicine"},
	{System: sysSNOMED, Code: "394579002", Display: "Cardiology"},
	{System: sysSNOMED, Code: "394583002", Display: "Endocrinology"},
	{System: sysSNOMED, Code: "394537008", Display: "Pediatric specialty"},
}
