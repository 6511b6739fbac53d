-- tracker.emulator.words: the word lists the demo data is made of. Names from many places
-- (some with accents and apostrophes, so that clients meet them), job titles, company-name
-- parts, US towns with their state, zip code and area code, streets, mail domains, tags and
-- note templates by activity type. Read by the generator (tracker.emulator.generator) and by
-- the synthetic source, which mixes its own names from the same lists.
--
--   first, last, titles, company_a, company_b, places ({town, state, zip, area code}),
--   streets, domains, agency_domain (the recruiters' mail domain), tags,
--   notes (activity type name -> list of formats with one %s, the job)
--   ascii_fold(name)       -> the lower-case ASCII letters and digits of a name, for mail
--                             addresses and handles ("Zoë" -> "zoe", "O'Brien" -> "obrien")

local M = {}

local lower, gsub = string.lower, string.gsub

M.first = { "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
  "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
  "Sarah", "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
  "Mark", "Sandra", "Donald", "Margaret", "Steven", "Ashley", "Andrew", "Kimberly", "Paul",
  "Emily", "Joshua", "Donna", "Kenneth", "Michelle", "Kevin", "Carol", "Brian", "Amanda",
  "Timothy", "Melissa", "Ronald", "Deborah", "George", "Stephanie", "Jason", "Rebecca", "Edward",
  "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Amy", "Nicholas", "Angela", "Gary",
  "Helen", "Eric", "Anna", "Jonathan", "Brenda", "Stephen", "Pamela", "Priya", "Wei", "Aisha",
  "Mohammed", "Sofia", "Mateo", "Yuki", "Olga", "Kwame", "Fatima", "Diego", "Ananya", "Chen",
  "Leila", "Omar", "Ingrid", "Raj", "Mei", "Santiago", "Chloé", "José", "Zoë", "Siobhan",
  "Björn", "Nkechi", "Thanh", "Hiroshi", "Amara", "Lucía", "Dmitri" }
M.last = { "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
  "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
  "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
  "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
  "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
  "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Singh",
  "Okafor", "Müller", "O'Brien", "Kowalski", "Yamamoto", "Haddad", "Novak", "Silva", "Dubois",
  "Rossi", "Andersson", "Ivanova", "Mensah", "Schmidt", "Fernández", "MacLeod", "Van der Berg",
  "Nakamura", "Khan", "Ali", "Cohen", "Murphy", "Kelly", "Price", "Bennett", "Wood" }
M.titles = { "Software Engineer", "Senior Software Engineer", "Data Engineer", "Data Analyst",
  "DevOps Engineer", "QA Analyst", "Product Manager", "Project Manager", "Business Analyst",
  "Registered Nurse", "Licensed Practical Nurse", "Medical Assistant", "Accountant",
  "Senior Accountant", "Financial Analyst", "Payroll Specialist", "HR Generalist",
  "Sales Representative", "Account Executive", "Customer Service Representative",
  "Warehouse Associate", "Forklift Operator", "Electrician", "Mechanical Engineer",
  "Civil Engineer", "Administrative Assistant", "Executive Assistant", "Marketing Coordinator",
  "Graphic Designer", "Network Administrator", "Help Desk Technician", "Operations Manager",
  "Supply Chain Analyst", "Paralegal", "Truck Driver (CDL-A)", "Pharmacist",
  "Physical Therapist", "Controller", "Java Developer", "Full Stack Developer" }
M.company_a = { "Acme", "Northwind", "Globex", "Initech", "Blue Ridge", "Summit", "Harbor",
  "Pinnacle", "Redwood", "Evergreen", "Lakeside", "Silverline", "Ironclad", "Brightpath",
  "Keystone", "Crescent", "Granite", "Meridian", "Cascade", "Prairie" }
M.company_b = { "Industries", "Health", "Logistics", "Systems", "Financial", "Manufacturing",
  "Labs", "Partners", "Group", "Technologies", "Energy", "Foods", "Medical Center",
  "Construction", "Capital" }
M.places = { { "Boston", "MA", "02108", "617" }, { "New York", "NY", "10001", "212" },
  { "Philadelphia", "PA", "19103", "215" }, { "Atlanta", "GA", "30303", "404" },
  { "Miami", "FL", "33130", "305" }, { "Chicago", "IL", "60601", "312" },
  { "Detroit", "MI", "48226", "313" }, { "Minneapolis", "MN", "55401", "612" },
  { "Dallas", "TX", "75201", "214" }, { "Austin", "TX", "78701", "512" },
  { "Houston", "TX", "77002", "713" }, { "Denver", "CO", "80202", "303" },
  { "Phoenix", "AZ", "85004", "602" }, { "Salt Lake City", "UT", "84101", "801" },
  { "Seattle", "WA", "98101", "206" }, { "Portland", "OR", "97204", "503" },
  { "San Francisco", "CA", "94103", "415" }, { "Los Angeles", "CA", "90012", "213" },
  { "San Diego", "CA", "92101", "619" }, { "Raleigh", "NC", "27601", "919" },
  { "Nashville", "TN", "37203", "615" }, { "Columbus", "OH", "43215", "614" },
  { "Indianapolis", "IN", "46204", "317" }, { "Kansas City", "MO", "64105", "816" } }
M.streets = { "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Park Blvd", "Washington St",
  "Lake Rd", "Hillcrest Dr", "Elm St", "Pine St", "Sunset Blvd", "River Rd" }
M.domains = { "example.com", "example.net", "example.org", "mail.example.com",
  "inbox.example.net" }
M.agency_domain = "staffing.example.com"
M.tags = { "remote-ok", "relocation", "night-shift", "bilingual", "urgent", "silver-medalist",
  "referral-bonus" }
M.notes = {
  Note = { "Candidate prefers hybrid roles; open to %s.", "Strong %s background; move forward.",
           "Salary expectations above the range for %s.",
           "Spoke with the hiring manager about %s." },
  Call = { "Left voicemail about the %s role.", "Phone screen for %s went well.",
           "Discussed availability and notice period for %s." },
  Email = { "Sent the %s job description.", "Followed up on the %s application by email." },
  Meeting = { "Intake meeting for %s." },
  Interview = { "First-round interview for %s scheduled.", "Panel interview for %s completed." },
  Task = { "Check references for %s." },
  ["Text Message"] = { "Texted a reminder about the %s interview." },
}

local ASCII = { ["é"] = "e", ["ë"] = "e", ["ö"] = "o", ["ó"] = "o", ["í"] = "i", ["ü"] = "u",
                ["á"] = "a", ["ñ"] = "n" }

function M.ascii_fold(s)
  return lower((gsub(gsub(s, "[\xC3][\x80-\xBF]", ASCII), "[^%w]", "")))
end

return M
