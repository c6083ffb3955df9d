package fakegmail

import "strings"

// vocab holds the word lists the generator draws from. It is built per
// generator (no package state) from the constant lists below.
type vocab struct {
	first, last       []string
	brandHead         []string
	brandTail         []string
	tlds              []string
	freeMail          []string
	topics            []string
	places            []string
	products          []string
	devices           []string
	words             []string
	weekdays          []string
	months            []string
	lists             []string
	personSubjects    []string
	newsSubjects      []string
	noticeSubjects    []string
	socialSubjects    []string
	forumSubjects     []string
	spamSubjects      []string
	spamSenders       []string
	greetings         []string
	closings          []string
	newsletterFormats []string
	personalSentences []string
	bulkSentences     []string
	noticeSentences   []string
	spamSentences     []string
}

func newVocab() *vocab {
	f := strings.Fields
	lines := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	return &vocab{
		first: f(`Alice Ben Chloe Daniel Emma Felix Grace Henry Isla Jack Kara Liam Maya Noah Olivia Paul Quinn Rosa
			Sam Tara Umar Vera Will Xena Yusuf Zoe Aaron Bianca Carlos Dina Elena Farah Gus Hana Ivan Jonas Lena Marco Nina Omar`),
		last: f(`Smith Jones Garcia Miller Davis Lopez Wilson Anderson Thomas Moore Martin Lee Clark Lewis Walker Hall Young
			King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker Collins Novak Rossi`),
		brandHead: f(`North Bright Blue Green Swift Maple Cedar Silver Pine Harbor Summit River Stone Golden Iron Lumen Nova Orbit
			Pixel Quill Copper Willow Ember Atlas Beacon Coral Delta Echo Fable Grove`),
		brandTail: f(`wind loop leaf path works labs mart box ly hub wave nest field craft point stack mint cart fly line`),
		tlds:      f(`example example example test`),
		freeMail:  f(`gmail.com yahoo.com outlook.com fastmail.com proton.me icloud.com`),
		topics: f(`budget roadmap garden hiking kubernetes photography marathon recipes travel design hiring
			security golang rust cycling chess mortgage podcast gardening vacation fundraiser onboarding analytics`),
		places:   f(`Lisbon Kyoto Denver Oslo Cape-Town Montreal Seville Hanoi Bergen Tucson Galway Krakow`),
		products: f(`headphones sneakers backpack espresso-machine desk-lamp rain-jacket smartwatch blender notebook tent`),
		devices:  f(`Windows Mac iPhone Android Linux iPad Chromebook`),
		words: f(`the a quick update about our plan for next week team project schedule review meeting notes draft
			share feedback idea budget thanks again please let me know if you have time tomorrow morning afternoon
			call agenda item follow up on details deadline friday launch ready soon question answer great work
			we should try new approach before end of month quarter numbers look good need help with this that
			also maybe later today okay sounds perfect will send more information shortly attached file report
			progress status customers users feature release version test results slides doc link calendar invite`),
		weekdays: f(`Monday Tuesday Wednesday Thursday Friday Saturday Sunday`),
		months:   f(`January February March April May June July August September October November December`),
		lists:    f(`golang-nuts rust-users hiking-club pta-announce book-club photo-walks homeowners-assoc jazz-fans`),
		personSubjects: lines(`
			Lunch next week?
			Quick question about the {topic}
			{Topic} notes
			Photos from {place}
			Catching up
			Weekend plans
			Can you review the {topic} doc?
			Dinner on {weekday}?
			{Topic} update
			Happy birthday!
			Trip to {place}
			Thanks!
			Meeting on {weekday}
			Coffee sometime?`),
		newsSubjects: lines(`
			{brand} Weekly: {topic} and more
			{n} ways to get better at {topic}
			This week in {topic}
			{pct}% off everything this weekend
			Last chance: the {product} sale ends tonight
			Your {month} {topic} digest
			New arrivals: {product} and friends
			Issue #{n}: what's new in {topic}
			Don't miss out on free shipping`),
		noticeSubjects: lines(`
			Your order #{order} has shipped
			Receipt for your payment to {brand}
			Security alert: new sign-in on {device}
			Your {month} statement is ready
			Reminder: appointment on {weekday}
			Your password was changed
			Invoice {order} from {brand}
			Your package will arrive {weekday}`),
		socialSubjects: lines(`
			{person} commented on your post
			You have {n} new notifications
			{person} wants to connect
			{person} tagged you in a photo
			See what {person} and others shared
			{n} people viewed your profile`),
		forumSubjects: lines(`
			[{list}] Question about {topic}
			[{list}] Announcing {product} v{n}
			[{list}] Help with {topic}
			[{list}] Meetup on {weekday}`),
		spamSubjects: lines(`
			You have won ${amount}!
			URGENT: verify your account now
			Claim your free {product}
			Your invoice is overdue
			Congratulations, you were selected`),
		spamSenders: lines(`
			Prize Department
			Account Security Team
			Customer Rewards
			Billing Office
			Lottery Commission`),
		greetings:         f(`Hi Hello Hey Dear`),
		closings:          lines("Cheers\nBest\nThanks\nTalk soon\nAll the best"),
		newsletterFormats: lines("{brand} Weekly\nThe {brand} Digest\n{brand} News\n{brand} Deals"),
		personalSentences: lines(`
			Are we still on for {weekday}?
			I just sent over the {topic} notes.
			Let me know what you think about the {topic} plan.
			Can we move the call to {weekday} afternoon?
			The {topic} review went well and everyone liked the numbers.
			I will be in {place} next month, want to meet up?
			Thanks again for your help with the {topic} project.
			Here is the link to the {topic} doc we talked about.
			Quick reminder that the deadline is {weekday}.
			Could you take a look before the meeting?
			Sorry for the late reply, it has been a busy week.
			The photos from {place} turned out great.
			I think we should keep the {topic} budget as it is.
			Happy to help if you need anything else.`),
		bulkSentences: lines(`
			We are excited to share the latest {topic} news with you.
			Shop the new {product} collection before it sells out.
			Members save {pct}% on selected items this week.
			Read the full story on our blog.
			Your feedback helps us make {brand} better for everyone.
			Free shipping on orders over $50 ends {weekday}.
			Here are this week's most popular {topic} articles.
			Track your order in the {brand} app at any time.
			If you did not make this change, please contact support right away.
			Thank you for being a {brand} customer.
			Download the app to get early access to deals.
			Join {n} readers who get our {topic} tips every week.`),
		noticeSentences: lines(`
			We wanted to let you know about recent activity on your {brand} account.
			Your payment has been received, thank you.
			You can review the details in your account settings.
			If you did not make this change, please contact support right away.
			Track your order in the {brand} app at any time.
			Your item is on its way and should arrive by {weekday}.
			This is an automated message, please do not reply.`),
		spamSentences: lines(`
			Click here to claim your reward before it expires.
			Your account will be suspended unless you verify your details today.
			This exclusive offer expires in 24 hours.
			Act now to secure your prize of {amount} dollars.
			We noticed unusual activity, confirm your password at the link below.`),
	}
}
