/* deid_tables.c: the word tables of the de-identification scanners (deid_detect.c): surnames,
 * the cue words around names, labels of numbers, address and organisation suffixes.
 *
 * All const U"" literals (UTF-32), so matching compares code points with no decoding. Lists are
 * unordered; the scanners take the longest word that matches. To tune the detector, edit these
 * tables and rerun `ward deid --eval tests/data/deid/tuning.jsonl` (docs/deid.md).
 */
#include "privacy/deid_internal.h"

#define WORDS(name, ...)                                                                          \
    static const char32_t *const name##_list[] = {__VA_ARGS__};                                   \
    const deid_words name = {name##_list, sizeof name##_list / sizeof name##_list[0]}

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

/* About 330 single surnames, the common ones first. Left out on purpose because they are far
 * more often ordinary words than surnames in clinical text: 和 由 来 都 那 信 元 国 区 门 相 初
 * 原 位 满 强 利 干 但 衣 展 阴 智 富 公 支 井 乐 普 计 索 宣 母 修 宿 印 隆 战 危 玉 银 居 揭 斯
 * 束 幸 植 衡 海 花 南 云 应 时 明 平 全 查 解 双 左. */
const char32_t deid_surnames1[] =
    U"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶"
    U"程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺"
    U"顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    U"兰焦俞柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲"
    U"房滕屈饶牟艾尤阳穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂佟臧闵苟"
    U"邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池麻苑迟邝官封谈匡鞠惠荆冀郁胥班储栗燕楚"
    U"鄢劳谌奚皮粟冼蔺楼盘闻厉伊仝郜阚权帅屠豆朴盖练廉禹祖漆巴丰卿狄晋容敬扈晁芮阙浦戈伏鹿薄"
    U"邸雍辜羊乌裘亓邰赫杭况逯茹诸慕亢嵇哈湛宾戎勾茅於呼尉冶檀昝奉尧闭"
    U"洪贝贲郦笪禤逄郗蹇眭隗荀钮宦暨钭邴訾谯郏乜旷侍俸寿宓咸帖汝琚靖仉郇蔚";

/* The surnames that may stand alone before a title ("张医生", "刘女士", "李某"): common ones
 * that are not also frequent function words (于 "由于", 任 "主任", 常 "常规" are not here). */
const char32_t deid_surnames_strong[] =
    U"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘蒋蔡余杜叶"
    U"程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺"
    U"顾毛郝龚邵万钱严覃武戴莫孔汤温康施牛樊葛邢齐乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞柳"
    U"祝宁舒阮柯纪梅童凌毕季裴霍涂苗谷盛翁冉骆蓝游辛靳柴蒙鲍喻祁蒲滕屈饶牟艾穆卓缪褚娄窦戚"
    U"岑景费卜冷晏席卫米柏宗瞿桂佟臧闵邬卞姬栾隋刁巫寇桑郎甄仲虞敖巩佘迟邝鞠荆冀郁胥栗燕楚"
    U"鄢谌奚粟冼蔺阚屠朴廉禹漆卿狄晁芮阙雍辜裘邰赫茹嵇湛洪郦贲笪禤逄郗蹇眭";

WORDS(deid_surnames2, U"欧阳", U"司马", U"上官", U"诸葛", U"东方", U"皇甫", U"尉迟", U"公孙",
      U"慕容", U"长孙", U"宇文", U"司徒", U"夏侯", U"轩辕", U"令狐", U"钟离", U"端木", U"独孤",
      U"南宫", U"西门", U"呼延", U"澹台", U"公冶", U"太史", U"申屠", U"赫连", U"闻人", U"濮阳",
      U"宗政", U"拓跋", U"完颜", U"司空", U"鲜于", U"闾丘", U"万俟", U"左丘", U"梁丘", U"百里");

/* Characters that do not occur in given names (or so rarely that taking them as a name's end is
 * the worse error): particles, verbs of clinical narrative, body parts, symptoms, units. */
const char32_t deid_non_name_chars[] =
    U"的了在是有无不未否已因于自入出去到为被把将以由从向对给等或也都还又再就才只很较最更均各"
    U"每其该此这那之所即则但而且并能会要应需请让使予行做作用服见示显提升降增减多差异性"
    U"男女岁号电话址住省市区县镇村路街巷楼室单层组弄床院科诊治疗查检验测断病症疾患者属医护"
    U"士药片针剂术后前下上左右侧肢体身部腹胸头颈腰背腿脚手足肝脾肺肾胃肠尿便血压痛疼热咳嗽痰喘"
    U"肿瘤癌炎疸细胞规期史日年时分秒次个度率量位腔管道脉搏呼吸温脑骨肌皮肤眼耳鼻口舌牙齿"
    U"今昨晚夜午周诉述签字名姓址系与和及经过曾先主任师某约余左右均伴感觉发现出现给予副陪送"
    U"嘱告知议同意拒绝要求反复持续突显轻度度重度急慢缓解加重好转痊愈死亡返回转移复常"
    U"规律确诊断复查入院出院术床旁口服注射输液吸氧监测观察护理饮食睡眠精神意识醒醒";

/* Characters common in given names (about 500, from the frequent given names of the last decades).
 * Where the context is weaker (a relative or a role word without a name follower after it, a name
 * standing alone in a table cell or on its own line), every given-name character must be one of
 * these, so "医生向家属" or a table cell "温度" are not taken. */
const char32_t deid_given_common[] =
    U"伟刚勇毅俊峰强军平保东文辉明永健世广志义兴良海山仁波宁贵福生龙元国胜学祥才武新利清飞彬"
    U"富顺信子杰涛昌成康星光天安岩茂林坚彪博诚敬震振壮思群豪邦承乐绍功松善厚庆磊民友裕河哲"
    U"江超浩亮政谦亨奇固翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士建家致树炎德泰盛雄琛钧冠策"
    U"腾楠榕风弘宇轩睿铭恒鑫昊瑞凯帆皓然晟煜逸熙宸锋嘉晓小少春秋冬夏立卫红长万金银玉宝忠孝荣耀华兆"
    U"庭培根灿炳桂森柏青云雨雪霜晴阳亚宪益增锦锐剑洋秀娟英慧巧美娜静淑惠珠翠雅芝萍娥玲芬芳燕彩菊兰"
    U"凤洁梅琳素莲真环爱妹霞香月莺媛艳佳琼勤珍贞莉娣叶璐娅琦晶妍茜珊莎黛倩婷姣婉娴瑾颖露瑶怡婵雁蓓"
    U"仪荷丹蓉眉君琴蕊薇菁梦岚婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希欣飘育滢馥筠柔竹凝欢霄枫"
    U"芸菲寒伊宜舒影荔丽妮贝初梵鸿桦骅娇纪宽灵玛琪容烁堂唯威韦雯萱彦宗曼紫贤蝶菡敏茹婧涵诗依语沐汐"
    U"晗煊瀚遥彤蕾媚娉璇瑜珏玮琨璋瑛璟炜烨焱煌灏淼垚淳渊潇湘沛浦涌沁洲源滨澄湛溪蔚苗芃萌蓬莹萃蕴苓"
    U"芷芊茵鹤鹃鸾凰麟骏驰骋跃征迪迅遂晋普曦昕晖晔晏暄暖昀昱曙旺景映朝冉姗嫣姝妙斐朵勋铮钢铁镇钰键"
    U"钦钊铎铠虎豹鹰狮骥麒泉岗峻崇岳嵩巍峥屹峦坤垣墨尧舜禹书智廉逊恭俭温捷兼备禄寿喜吉绿蓝";

/* Characters that commonly follow a name in running text. */
const char32_t deid_name_followers[] =
    U"因于入主诉男女今昨前自在来到出经已曾行被由同陪等及和与的是系为现目近既无有一去回说称表要"
    U"将把对向从住门急术家患病先医护之其年岁性电身联地签代也都还又再就才均共平诊妻夫子父母哥姐"
    U"弟妹儿孙老朋邻本属告知反不未否没希拒持携突晨晚夜早上下午复半两三多每次后口述（(，,。.；;"
    U"：:、 \t\r\n）)」』”\"'/会查指认看接交汇核执操带处给通请负审报参探送"
    U"｜|";

/* Labels after which a name always follows (a colon after any cue word makes it strong too). */
WORDS(deid_name_cues_strong, U"姓名", U"患者姓名", U"病人姓名", U"签名", U"签字", U"医师签名",
      U"医生签名", U"患者签名", U"家属签名", U"护士签名", U"联系人", U"紧急联系人", U"监护人",
      U"代诉人", U"委托人", U"被委托人", U"授权人", U"代理人", U"法定代理人", U"陪同人",
      U"陪护人", U"供史者", U"病史陈述者", U"病史提供者", U"记录者", U"记录人", U"报告者",
      U"报告人", U"审核者", U"审核人", U"书写者", U"填表人", U"见证人", U"谈话人", U"执行人",
      U"核对人", U"操作者", U"术者", U"主刀", U"一助", U"二助", U"助手", U"户主", U"联系人姓名",
      U"家属姓名", U"医生姓名", U"之名", U"姓名为", U"姓名是", U"名叫", U"名字是", U"名字叫",
      U"名为", U"手术者", U"手术医师", U"手术医生", U"主刀医师", U"主刀医生", U"第一助手",
      U"第二助手", U"第三助手", U"麻醉者", U"检验者", U"核对者", U"审核者", U"复核者",
      U"审签", U"主查人", U"汇报人", U"交班者", U"接班者", U"交班人", U"接班人", U"编码员",
      U"整理者", U"受委托人", U"受托人", U"委托代理人", U"近亲属", U"签字人", U"签署人",
      U"Name", U"NAME", U"name", U"Patient", U"PATIENT", U"Attending", U"Physician",
      U"physician", U"Doctor", U"doctor", U"Nurse", U"nurse", U"Surgeon", U"surgeon",
      U"Signature", U"Signed by", U"signed by", U"Reported by", U"reported by", U"Reviewed by",
      U"reviewed by", U"Checked by", U"checked by", U"Verified by", U"Dr.", U"Dr");
/* Words after which a name may follow: the name is taken only if something that can follow a
 * name comes after it (deid_name_followers). */
WORDS(deid_name_cues_weak, U"患者", U"病人", U"患儿", U"病患", U"孕妇", U"产妇", U"家属",
      U"其子", U"其女", U"其妻", U"其夫", U"其父", U"其母", U"其兄", U"其姐", U"其弟", U"其妹",
      U"其孙", U"其孙女", U"其侄", U"其儿子", U"其女儿", U"其丈夫", U"其妻子", U"其爱人",
      U"其配偶", U"其老伴", U"儿子", U"女儿", U"丈夫", U"妻子", U"父亲", U"母亲", U"爱人",
      U"老伴", U"配偶", U"孙子", U"孙女", U"哥哥", U"姐姐", U"弟弟", U"妹妹", U"朋友", U"同事",
      U"邻居", U"亲属", U"女婿", U"儿媳", U"外孙", U"外孙女", U"侄子", U"侄女", U"医师",
      U"医生", U"主任", U"护士", U"护师", U"大夫", U"教授", U"主治医师", U"主治医生",
      U"住院医师", U"住院医生", U"主任医师", U"副主任医师", U"主管医师", U"主管医生",
      U"经治医师", U"经治医生", U"上级医师", U"责任护士", U"值班医生", U"值班医师",
      U"接诊医生", U"接诊医师", U"转诊医生", U"会诊医师", U"会诊医生", U"申请医生",
      U"申请医师", U"送检医师", U"报告医师", U"审核医师", U"检查医师", U"诊断医师",
      U"麻醉医师", U"麻醉师", U"器械护士", U"巡回护士", U"护士长", U"告知", U"通知", U"联系",
      U"陪同", U"委托", U"嘱托", U"来访者", U"邀请", U"之父", U"之母", U"之子", U"之女",
      U"之妻", U"之夫", U"随访人", U"随访者", U"随访医生", U"随访护士", U"查房医师",
      U"查房医生", U"收件人", U"经办人", U"登记人", U"接诊人", U"申请人", U"送检人", U"采样人",
      U"检验者", U"复核者", U"复核人", U"审核", U"记录", U"医生签字", U"护士签字", U"患者本人",
      U"本人", U"新生儿之父", U"新生儿之母", U"患儿之父", U"患儿之母", U"患儿父亲",
      U"患儿母亲", U"人员", U"参加人员", U"参会人员", U"讨论人员", U"出席人员",
      U"在场人员", U"主持人", U"汇报人", U"麻醉", U"巡回", U"洗手", U"检验", U"核对",
      U"校对", U"复核", U"白班", U"夜班", U"小夜班", U"大夜班", U"早班", U"中班", U"晚班",
      U"主班", U"办公班", U"治疗班", U"交班护士", U"接班护士", U"交班医师", U"接班医师",
      U"交班医生", U"接班医生", U"洗手护士", U"手术护士", U"麻醉护士", U"分诊护士",
      U"评估护士", U"伤口护士", U"质控护士", U"质控医师", U"访视医师", U"告知医师",
      U"谈话医师", U"沟通医师", U"值班护士", U"主管护士", U"管床医生", U"管床医师",
      U"管床护士", U"带教老师", U"老师", U"实习医生", U"实习医师", U"实习护士", U"进修医师",
      U"进修医生", U"规培医师", U"规培医生", U"技师", U"药师", U"治疗师", U"康复师",
      U"营养师", U"心理咨询师", U"侄子", U"外甥", U"外甥女", U"儿媳妇", U"长子", U"次子",
      U"长女", U"次女", U"养子", U"养女", U"继子", U"继女", U"其侄子", U"其外甥", U"其儿媳",
      U"其女婿", U"其外孙", U"其外孙女", U"患者之子", U"患者之女", U"患者之妻", U"患者之夫",
      U"科主任", U"副主任", U"院长", U"护理部主任", U"主任医师", U"住院总", U"值班", U"交班",
      U"接班", U"新生儿父亲", U"新生儿母亲", U"外婆", U"外公", U"姥姥", U"姥爷", U"舅舅",
      U"阿姨", U"叔叔", U"伯伯", U"姑姑", U"姨妈", U"嫂子", U"其外婆", U"其外公", U"其奶奶",
      U"其爷爷", U"其舅舅", U"其姑姑", U"调配", U"发药", U"配药", U"审方", U"首诊医生",
      U"首诊医师");
/* After a name: titles, relations, acts only a person does. */
WORDS(deid_name_cues_after, U"先生", U"女士", U"小姐", U"医师", U"医生", U"主任", U"副主任",
      U"教授", U"护士", U"护师", U"大夫", U"老师", U"同志", U"师傅", U"阿姨", U"叔叔", U"奶奶",
      U"爷爷", U"老人", U"之子", U"之女", U"之妻", U"之夫", U"之父", U"之母", U"之孙",
      U"之孙女", U"签名", U"签字", U"代诉", U"口述", U"陪同", U"患者", U"主治", U"住院医师",
      U"主管", U"院长", U"科长", U"护士长", U"同学", U"小朋友", U"夫妇", U"（男", U"（女",
      U"(男", U"(女", U"，男", U"，女", U",男", U",女", U" 男", U" 女", U"之名");
/* Words that start right after a name and are no part of it: with 周勇送入院 the name is 周勇,
 * not 周勇送 (the second given-name character is dropped when one of these starts there). */
WORDS(deid_name_after_words, U"一同", U"一起", U"一道", U"一并", U"陪同", U"陪护", U"陪伴",
      U"陪床", U"送入", U"送至", U"送来", U"送到", U"送检", U"参与", U"参加", U"双人", U"共同",
      U"副主任", U"副院长", U"副教授", U"来院", U"来诊", U"来我", U"来访", U"来到", U"来电",
      U"来此", U"来看", U"同意", U"同志", U"同时", U"表示", U"签字", U"签名", U"认为", U"指出",
      U"指示", U"查看", U"查房", U"看过", U"会诊", U"负责", U"执行", U"操作", U"核对", U"记录",
      U"汇报", U"报告", U"主刀", U"主持", U"接诊", U"代诉", U"口述", U"诉说", U"讲述", U"回家",
      U"回院", U"到院", U"到场", U"在场", U"在旁", U"在侧");

/* Words that may follow a name standing at a clause start with no cue ("张伟诉…", "，王芳表示…",
 * "。李强同意…"): speech and consent verbs and what a note says of a person next. */
WORDS(deid_name_clause_verbs, U"诉", U"自诉", U"述", U"自述", U"代诉", U"称", U"表示", U"签字",
      U"签名", U"同意", U"拒绝", U"陪同", U"陪护", U"来院", U"来我院", U"要求", U"询问", U"希望",
      U"坚持", U"决定", U"认为", U"及家属", U"及其家属", U"今日", U"今晨", U"昨日", U"昨夜",
      U"昨晚", U"目前", U"午后", U"夜间", U"精神", U"既往", U"入院", U"出院", U"此次", U"现",
      U"因", U"于入院", U"经", U"仍", U"未", U"已", U"无", U"再次", U"突然", U"诉说",
      U"答应", U"了解", U"理解", U"接受", U"放弃", U"确认", U"探视", U"离院", U"返院", U"沟通",
      U"交代", U"谈话", U"商量", U"协商", U"联系", U"会诊", U"核对");

/* Table header cells over a column of names ("姓名  性别  年龄" with the rows below). */
WORDS(deid_name_table_labels, U"姓名", U"患者姓名", U"病人姓名", U"家属姓名", U"联系人姓名",
      U"Name", U"NAME", U"name", U"Patient Name", U"患者", U"病人", U"签名");

/* Relations and roles written in parentheses after a name: 张伟（儿子）, 李娜（护士）. */
WORDS(deid_name_paren_roles, U"长子", U"次子", U"儿子", U"女儿", U"长女", U"次女", U"之子",
      U"之女", U"妻子", U"丈夫", U"父亲", U"母亲", U"配偶", U"爱人", U"孙子", U"孙女", U"外孙",
      U"侄子", U"侄女", U"外甥", U"儿媳", U"女婿", U"哥哥", U"姐姐", U"弟弟", U"妹妹", U"兄",
      U"弟", U"姐", U"妹", U"子", U"女", U"妻", U"夫", U"父", U"母", U"本人", U"患者", U"家属",
      U"朋友", U"同事", U"邻居", U"监护人", U"代理人", U"委托人", U"签名", U"签字", U"手印",
      U"代", U"科主任", U"护士", U"护士长", U"医师", U"医生", U"主任", U"教授", U"主治",
      U"住院医师", U"主任医师", U"副主任医师", U"主治医师", U"实习", U"进修", U"规培", U"护师",
      U"责任护士", U"技师", U"男", U"女", U"医", U"护", U"签章", U"盖章");
/* Titles that may follow a bare surname ("张医生", "刘女士"). */
WORDS(deid_name_titles, U"先生", U"女士", U"小姐", U"医师", U"医生", U"主任", U"副主任",
      U"教授", U"护士", U"护师", U"大夫", U"老师", U"同志", U"师傅", U"阿姨", U"叔叔", U"奶奶",
      U"爷爷", U"院长", U"科长", U"护士长", U"老先生", U"老太太", U"大爷", U"大妈", U"姓",
      U"主治医师", U"主治医生", U"主任医师", U"副主任医师", U"住院医师", U"主管医师",
      U"主治", U"副教授", U"技师", U"药师", U"治疗师", U"营养师", U"总", U"博士");

/* Ordinary words starting with a surname character, never taken as a name unless a label such
 * as "姓名：" stands before them. */
WORDS(deid_name_stop_words, U"高血压", U"高血脂", U"高血糖", U"高热", U"高烧", U"高龄", U"高度",
      U"高危", U"高压", U"高位", U"高钾", U"高钠", U"高尿酸", U"黄疸", U"黄染", U"黄色",
      U"黄体", U"白细胞", U"白蛋白", U"白天", U"白色", U"白内障", U"白带", U"常规", U"常年",
      U"常有", U"常见", U"周期", U"周围", U"周身", U"周后", U"周前", U"平素", U"平时", U"平日",
      U"平卧", U"平常", U"平稳", U"全身", U"全天", U"全程", U"全麻", U"全血", U"于是", U"余下",
      U"方可", U"方便", U"方法", U"方案", U"方式", U"安静", U"安全", U"安返", U"安睡", U"安排",
      U"舒适", U"舒张", U"康复", U"苏醒", U"曾经", U"曾有", U"曾于", U"曾因", U"曾在",
      U"金属", U"程度", U"程序", U"毛发", U"石膏", U"包块", U"包括", U"包扎", U"包裹",
      U"关节", U"关注", U"关于", U"管床", U"管理", U"管道", U"成功", U"成人", U"成为", U"马上",
      U"温度", U"温水", U"温和", U"华法林", U"万古霉素", U"谷丙", U"谷草", U"谷氨", U"沙丁",
      U"尤其", U"易感", U"易于", U"解释", U"文化", U"文字", U"司机", U"师傅", U"凌晨", U"连续",
      U"单侧", U"单位", U"宁可", U"童年", U"项目", U"车祸", U"甘油", U"葛根", U"路上",
      U"戴用", U"严重", U"严格", U"严密", U"严禁", U"明显", U"杜冷丁", U"艾司唑仑",
      U"吉非替尼", U"罗红霉素", U"罗哌卡因", U"米索", U"雷贝拉唑", U"雷尼替丁", U"贝那",
      U"林可霉素", U"孟鲁司特", U"莫西沙星", U"布洛芬", U"苗条", U"龙胆", U"冷敷", U"冷汗",
      U"冷漠", U"席位", U"卫生", U"米饭", U"燕麦", U"钱包", U"史料", U"向上", U"向下", U"向前",
      U"向后", U"向外", U"向内", U"左侧", U"柏油", U"盛行", U"景象", U"秦艽", U"何时", U"何处",
      U"何种", U"何故", U"何况", U"胡言", U"陆续", U"施行", U"施治", U"申请", U"蒙脱石",
      U"邵氏", U"宫颈", U"宫腔", U"宫缩", U"宫底", U"房颤", U"房室", U"房间", U"房性", U"齐全",
      U"齐整", U"阳性", U"阳光", U"简单", U"简称", U"简易", U"游离", U"游走", U"连接",
      U"连同", U"边缘", U"封闭", U"谈话", U"荣誉", U"皮肤", U"皮疹", U"皮下", U"皮质",
      U"盖好", U"练习", U"祖父", U"祖母", U"巴比妥", U"丰富", U"卿卿", U"容易", U"容量",
      U"容积", U"敬请", U"薄弱", U"薄层", U"乌头", U"於是", U"呼吸", U"冶游", U"尉氏",
      U"尚可", U"尚无", U"尚未", U"尚好", U"尚有", U"尚需", U"尚在", U"尚且", U"尚能",
      U"符合", U"符号", U"纪录", U"纪要", U"梅毒", U"凌乱", U"毕业", U"单纯", U"单药",
      U"单次", U"单用", U"成分", U"成形", U"成年", U"成熟", U"苗头", U"谷类", U"曲线",
      U"曲度", U"曲张", U"蓝色", U"路径", U"辛辣", U"管腔", U"管壁", U"管型", U"蒙氏",
      U"华氏", U"蒲公英", U"屈曲", U"屈伸", U"艾滋", U"尤为", U"阳痿", U"司可", U"卓越",
      U"古代", U"吉利", U"车间", U"项部", U"连日", U"窦性", U"窦道", U"党员", U"宫外",
      U"费用", U"卜算", U"冷热", U"晏起", U"席地", U"卫星", U"米粒", U"宗教", U"桂枝",
      U"仇恨", U"商量", U"刁难", U"沙眼", U"沙门", U"荣获", U"桑葚", U"郎中", U"丛生",
      U"虞美人", U"池塘", U"麻醉", U"麻木", U"麻疹", U"苑囿", U"迟发", U"迟钝", U"迟缓",
      U"封堵", U"谈及", U"惠及", U"冀望", U"郁闷", U"班级", U"燕窝", U"楚痛", U"劳累",
      U"劳动", U"劳力", U"皮损", U"楼层", U"楼梯", U"盘状", U"闻及", U"厉害", U"伊曲",
      U"权利", U"帅气", U"豆类", U"盖上", U"廉价", U"祖籍", U"漆黑", U"巴氏", U"丰满",
      U"晋升", U"容貌", U"敬业", U"扈从", U"戈壁", U"伏案", U"鹿茸", U"薄荷", U"雍容",
      U"乌鸡", U"裘皮", U"赫然", U"杭州", U"况且", U"茹素", U"诸多", U"慕名", U"哈欠",
      U"宾馆", U"戎装", U"勾画", U"茅草", U"呼气", U"檀香", U"奉行", U"闭合", U"闭塞",
      U"闭经", U"柯萨奇", U"黎明", U"贺卡", U"顾虑", U"毛细", U"毛囊", U"万一",
      U"万分", U"钱款", U"武汉", U"戴口罩", U"孔径", U"汤药", U"康宁", U"牛奶", U"牛肉",
      U"葛兰", U"邢台", U"安眠", U"安定", U"齐墩果", U"易激", U"乔木", U"颜色", U"颜面",
      U"庄重", U"章节", U"鲁莽", U"岳母", U"岳父", U"殷红", U"申报", U"欧洲", U"耿直",
      U"关心", U"关闭", U"兰州", U"焦虑", U"焦痂", U"柳氮", U"甘露", U"甘草", U"祝福",
      U"包皮", U"宁静", U"尚未", U"舒服", U"纪念", U"毕竟", U"季节",
      U"霍乱", U"涂抹", U"涂片", U"成都", U"苗族", U"谷物", U"盛京", U"冉冉", U"骆驼",
      U"游泳", U"辛苦", U"柴胡", U"蒙古", U"房屋", U"牟利",
      U"艾灸", U"阳台", U"穆斯林", U"农民", U"农村", U"司法", U"古怪", U"吉林",
      U"简历", U"车辆", U"项链", U"芦荟", U"麦片", U"窦房", U"景点", U"冷水", U"卫生间", U"商场", U"沙发", U"桑拿", U"甄别", U"仲裁", U"巩固", U"迟到", U"官方", U"鞠躬",
      U"储存", U"储备", U"奚落", U"朴素",
      U"辜负", U"羊水", U"任何", U"任意", U"任务", U"任一", U"于此", U"陈旧", U"陈述", U"杨梅", U"黄连", U"何首乌",
      U"金黄", U"罗列", U"林立", U"江河", U"石头", U"石块", U"钟表", U"钱财", U"高糖", U"高脂",
      U"高血", U"高于", U"低于", U"吴茱萸", U"许多", U"许可", U"叶酸", U"叶片", U"叶状",
      U"向家属", U"向患者", U"向病人", U"向患儿", U"向其", U"向家人", U"向本人", U"向上级",
      U"温馨", U"温暖", U"苏叶", U"苏子", U"苏木", U"郁金", U"高丽参", U"黄精", U"黄芩", U"黄柏",
      U"白芍", U"白芷", U"白及", U"白薇", U"白果", U"石斛", U"秦皮", U"田七", U"龙骨", U"牛膝",
      U"牛蒡", U"马勃", U"甘松", U"金樱", U"姜黄", U"夏枯草", U"杜仲", U"连翘", U"陈皮",
      U"金银花", U"丁香", U"钟乳", U"沈阳", U"江苏", U"江西", U"广东", U"宁夏", U"汤剂",
      U"安慰", U"安心", U"平安", U"程控", U"雷击", U"冯氏", U"唐氏", U"胡桃", U"林格",
      U"卢戈", U"施万", U"霍奇金", U"伍德", U"费城", U"雷诺", U"马凡", U"贾第", U"夏天",
      U"夏季", U"夏日", U"夏令", U"冷天");

/* After these, 某 means "a certain", not a pseudonym: 于某日, 某某医院. */
const char32_t deid_mou_determined[] = U"日天时年月种些处地院科单公家村所人次";

/* ---------------------------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------------------------- */

/* Labels of medical record, admission, outpatient, patient-ID and insurance card numbers. Bed
 * numbers (床号) are not here: a bed identifies nobody (docs/deid.md). */
WORDS(deid_record_labels, U"病案号", U"病案编号", U"病案号码", U"住院号", U"住院编号",
      U"住院号码", U"门诊号", U"门诊编号", U"门诊号码", U"门急诊号", U"急诊号", U"ID号",
      U"id号", U"ＩＤ号", U"患者ID", U"病人ID", U"ID", U"登记号", U"病历号", U"病历编号",
      U"就诊号", U"就诊卡号", U"诊疗卡号", U"门诊卡号", U"健康卡号", U"居民健康卡号",
      U"医保卡号", U"医保号", U"医保编号", U"医保账号", U"医疗保险号", U"医疗保险卡号",
      U"社保卡号", U"社保号", U"社会保障卡号", U"社会保障号", U"新农合号", U"新农合卡号",
      U"合作医疗证号", U"医疗证号", U"影像号", U"检查号", U"病理号", U"放射号", U"超声号",
      U"档案号", U"健康档案号", U"MRN", U"mrn", U"医保号码", U"社保号码", U"医保卡号码",
      U"社保卡号码", U"病历号码", U"登记号码", U"就诊卡号码", U"新农合证号", U"农合证号",
      U"合作医疗号", U"放射编号", U"放射号码", U"影像编号", U"检查编号", U"病理编号",
      U"MR号", U"CT号", U"DR号", U"X线号", U"PET号", U"超声编号", U"心电图号", U"内镜号",
      U"就诊卡", U"诊疗卡", U"医保卡", U"社保卡", U"健康卡", U"门诊卡", U"医疗卡号", U"就医卡号",
      U"卡号", U"病人编号", U"患者编号", U"患者号", U"病人号", U"留观号", U"观察号", U"体检号",
      U"体检编号", U"档案编号", U"病历档案号", U"门诊ID", U"住院ID", U"就诊ID", U"病人ID号",
      U"患者ID号", U"HIS号", U"his号", U"住院流水号", U"门诊流水号", U"就诊流水号",
      U"Inpatient No", U"Outpatient No", U"Hospital No", U"Case No", U"Record No", U"MR No",
      U"Admission No", U"Medical Record No", U"Medical Record Number", U"Patient No",
      U"Patient ID", U"Patient Id", U"PID", U"ID No", U"Card No", U"Reg No", U"Registration No",
      U"Hosp No", U"Hosp. No", U"IP No", U"OP No", U"UHID", U"病员号", U"病员编号", U"病员ID",
      U"医保个人编号", U"个人医保编号", U"参保人编号", U"参保编号", U"参保号", U"医保编码",
      U"个人社保编号", U"IC卡号", U"磁卡号", U"住院病案号", U"住院病历号", U"门诊病历号",
      U"门诊病案号", U"住院/门诊号", U"门诊/住院号", U"门/急诊号", U"门(急)诊号", U"门（急）诊号",
      U"住院/病案号", U"健康码号", U"诊疗号", U"就诊编号", U"住院登记号", U"门诊登记号",
      U"检查流水号", U"影像检查号", U"超声检查号", U"内镜检查号", U"胃镜号", U"肠镜号",
      U"冰冻号", U"细胞学号", U"X光号", U"CT检查号", U"MRI号", U"DSA号");

WORDS(deid_phone_labels, U"电话", U"手机", U"手机号", U"手机号码", U"电话号码", U"联系电话",
      U"联系方式", U"联系手机", U"家庭电话", U"家属电话", U"单位电话", U"办公电话", U"宅电",
      U"座机", U"固话", U"传真", U"Tel", U"TEL", U"tel", U"Phone", U"phone", U"PHONE",
      U"Mobile", U"mobile", U"电", U"手机号为", U"电话为");

/* Labels of numbers that look like phones but are not PHI (specimen, batch, order numbers). */
WORDS(deid_not_phone_labels, U"标本号", U"样本号", U"条码", U"条码号", U"条形码", U"检验号",
      U"检验单号", U"申请单号", U"批号", U"批准文号", U"国药准字", U"订单号", U"流水号",
      U"发票号", U"单号", U"编码", U"试剂批号", U"序列号", U"型号", U"货号", U"床号",
      U"住院号", U"病案号", U"门诊号");

WORDS(deid_age_labels, U"年龄", U"年纪", U"享年", U"终年", U"年龄为", U"年龄是");

/* ---------------------------------------------------------------------------------------------
 * Organisations
 * ------------------------------------------------------------------------------------------- */

/* Suffixes of employers and schools, taken whether or not a cue stands before them (an
 * employment word must then follow: deid_org_after). */
WORDS(deid_org_suffixes, U"有限责任公司", U"股份有限公司", U"有限公司", U"分公司", U"公司",
      U"集团", U"银行", U"支行", U"分行", U"工厂", U"厂", U"小学", U"中学", U"大学", U"学院",
      U"学校", U"职校", U"技校", U"幼儿园", U"托儿所", U"研究所", U"研究院", U"设计院",
      U"事务所", U"出版社", U"报社", U"电视台", U"合作社", U"派出所", U"法院", U"检察院",
      U"超市", U"商场", U"酒店", U"宾馆", U"饭店", U"餐厅", U"工作室", U"局", U"委员会",
      U"政府", U"部队", U"商店", U"医院", U"卫生院", U"诊所", U"中心", U"研究中心", U"所",
      U"站", U"馆", U"社", U"队", U"处", U"厅", U"部", U"办");
/* The suffixes taken only after a cue (工作单位：, 就职于, 就读于): ambiguous on their own. */
WORDS(deid_org_suffixes_cued, U"局", U"委员会", U"政府", U"部队", U"医院", U"卫生院", U"诊所",
      U"中心", U"研究中心", U"所", U"站", U"馆", U"社", U"队", U"处", U"厅", U"部", U"办");
WORDS(deid_org_cues, U"工作单位", U"单位", U"就职于", U"任职于", U"供职于", U"工作于",
      U"就读于", U"毕业于", U"学校", U"就读学校", U"所在学校", U"所在单位", U"服务于",
      U"受雇于", U"雇主", U"工作单位为", U"工作单位是", U"单位为", U"学校为", U"任教于",
      U"就业于", U"在读于", U"求学于", U"就职单位", U"职业单位", U"供职单位", U"所在公司",
      U"公司名称", U"单位名称", U"学校名称", U"就读");
/* Words after an organisation that say the person works or studies there. */
WORDS(deid_org_after, U"工作", U"上班", U"任职", U"就职", U"职员", U"员工", U"工人", U"教师",
      U"老师", U"学生", U"就读", U"读书", U"上学", U"念书", U"退休", U"干部", U"经理", U"会计",
      U"司机", U"保安", U"厨师", U"任教", U"毕业", U"职工", U"工程师", U"程序员", U"销售",
      U"文员", U"技术员", U"研究员", U"博士", U"硕士", U"研究生", U"本科生", U"实习", U"打工",
      U"务工", U"做工", U"任", U"担任", U"当", U"做", U"高管", U"主管", U"保洁", U"门卫",
      U"领导", U"负责人", U"营业员", U"收银员", U"业务员", U"教授", U"讲师", U"辅导员",
      U"校长", U"院长", U"局长", U"科员", U"公务员", U"警察", U"民警", U"一年级", U"二年级",
      U"三年级", U"四年级", U"五年级", U"六年级", U"初一", U"初二", U"初三", U"高一", U"高二",
      U"高三", U"大一", U"大二", U"大三", U"大四", U"学习", U"留学", U"离职", U"辞职",
      U"兼职", U"医生", U"护士", U"医师", U"读", U"念", U"从事");
/* Words right before an organisation that say the person is there (在某某公司加班): with an
 * unambiguous suffix (deid_org_suffixes less the cued ones) the name after them is taken. */
WORDS(deid_org_leads, U"在", U"于", U"到", U"去", U"赴", U"参加", U"进入", U"调入", U"调至",
      U"考入", U"考上", U"入职", U"受聘于", U"就职", U"任职", U"供职", U"入读", U"转学至");
/* The employment words after which a hospital or a centre is the person's employer (not after
 * 医生, 护士: "当地医院医生" treated the patient). */
WORDS(deid_org_after_strict, U"工作", U"上班", U"任职", U"就职", U"职员", U"员工", U"工人",
      U"职工", U"退休", U"干部", U"会计", U"司机", U"保安", U"厨师", U"保洁", U"门卫");
/* Suffixes of places a patient visits more than works at: not taken after a lead word alone. */
WORDS(deid_org_places, U"超市", U"商场", U"酒店", U"宾馆", U"饭店", U"餐厅", U"商店");
/* Values after "工作单位：" that are no organisation. */
WORDS(deid_org_not_values, U"无", U"个体", U"退休", U"不详", U"农民", U"务农", U"无业",
      U"自由职业", U"待业", U"学生", U"家务", U"个体户", U"未填", U"未知", U"同上", U"离休");
/* Characters an organisation's name cannot contain (backing up from its suffix stops there). */
const char32_t deid_org_stop_chars[] =
    U"在于系为是到从由的任与及等就读现原曾其了患者父母妻夫孙毕并且而但或即被把将对给自今昨年"
    U"月日岁，。、；：:;,.!?！？（）()[]【】「」“”\"' \t\r\n";

/* ---------------------------------------------------------------------------------------------
 * Addresses
 * ------------------------------------------------------------------------------------------- */

WORDS(deid_addr_labels, U"住址", U"地址", U"家庭住址", U"家庭地址", U"现住址", U"现住",
      U"家住", U"住在", U"住于", U"居住地", U"居住于", U"居住在", U"居住地址", U"户籍地",
      U"户籍地址", U"户口所在地", U"户籍所在地", U"联系地址", U"通讯地址", U"通信地址",
      U"籍贯", U"出生地", U"住所", U"单位地址", U"工作地址", U"现居", U"现居住", U"暂住",
      U"暂住地", U"常住地", U"常住地址", U"邮寄地址", U"收件地址", U"所在地", U"来自",
      U"现居于", U"住", U"家在", U"老家", U"寓所");
/* Provinces and the larger cities, which may stand without their 省/市 ("浙江杭州"). */
WORDS(deid_addr_places, U"北京", U"上海", U"天津", U"重庆", U"河北", U"山西", U"辽宁",
      U"吉林", U"黑龙江", U"江苏", U"浙江", U"安徽", U"福建", U"江西", U"山东", U"河南",
      U"湖北", U"湖南", U"广东", U"海南", U"四川", U"贵州", U"云南", U"陕西", U"甘肃", U"青海",
      U"台湾", U"内蒙古", U"广西", U"西藏", U"宁夏", U"新疆", U"香港", U"澳门", U"石家庄",
      U"太原", U"沈阳", U"大连", U"长春", U"哈尔滨", U"南京", U"苏州", U"无锡", U"常州",
      U"杭州", U"宁波", U"温州", U"绍兴", U"嘉兴", U"湖州", U"金华", U"台州", U"合肥",
      U"福州", U"厦门", U"泉州", U"南昌", U"济南", U"青岛", U"烟台", U"潍坊", U"郑州",
      U"洛阳", U"武汉", U"长沙", U"广州", U"深圳", U"珠海", U"佛山", U"东莞", U"汕头",
      U"海口", U"三亚", U"成都", U"绵阳", U"贵阳", U"昆明", U"西安", U"兰州", U"西宁",
      U"银川", U"乌鲁木齐", U"呼和浩特", U"南宁", U"桂林", U"拉萨", U"唐山", U"保定",
      U"邯郸", U"徐州", U"扬州", U"南通", U"盐城", U"芜湖", U"蚌埠", U"赣州", U"临沂",
      U"淄博", U"开封", U"宜昌", U"襄阳", U"株洲", U"岳阳", U"湛江", U"惠州", U"柳州",
      U"遵义", U"大理", U"宝鸡", U"天水", U"包头", U"大庆", U"吉林", U"鞍山", U"周口",
      U"南阳", U"信阳", U"商丘", U"驻马店", U"新乡", U"安阳", U"焦作", U"许昌", U"漯河",
      U"丽水", U"衢州", U"舟山", U"连云港", U"淮安", U"宿迁", U"泰州", U"镇江", U"上饶",
      U"九江", U"赣州", U"宜春", U"吉安", U"抚州", U"萍乡", U"景德镇", U"揭阳", U"潮州",
      U"茂名", U"肇庆", U"江门", U"中山", U"清远", U"韶关", U"梅州", U"河源", U"汕尾",
      U"阳江", U"云浮");
/* Suffixes of a named place: the name before them is characters, not a number. */
WORDS(deid_addr_place_suffixes, U"省", U"自治区", U"特别行政区", U"市", U"自治州", U"地区",
      U"盟", U"区", U"新区", U"县", U"自治县", U"旗", U"镇", U"乡", U"街道", U"街道办",
      U"社区", U"村", U"屯", U"嘎查", U"路", U"大道", U"大街", U"街", U"巷", U"胡同", U"里",
      U"小区", U"花园", U"公寓", U"大厦", U"广场", U"新村", U"新城", U"家园", U"嘉园", U"苑",
      U"园", U"府", U"庄园", U"山庄", U"名苑", U"雅苑", U"华庭", U"公馆", U"城", U"坊", U"湾",
      U"村委会", U"居委会", U"开发区", U"工业区", U"工业园", U"农场", U"林场", U"大院",
      U"宿舍", U"家属院", U"弄", U"组");
/* Words that start with a place suffix and are no place (参加某某所组织的): the suffix is not
 * taken there. */
WORDS(deid_addr_not_suffix_words, U"组织", U"组成", U"组合", U"组长", U"组员", U"区域",
      U"区别", U"区分", U"市场", U"市民", U"路线", U"路径", U"路程", U"里面", U"里程", U"村民委员");
/* The ends of hospital names; places right before one name the hospital (杭州市西湖区人民医院). */
WORDS(deid_addr_hospital_words, U"医院", U"卫生院", U"保健院", U"卫生服务中心", U"卫生服务站",
      U"疾病预防控制中心", U"疾控中心", U"急救中心", U"医疗中心", U"卫生所", U"门诊部", U"诊所");
/* Suffixes of a numbered part: 12号, 3栋, 2单元, 501室, 5组, 第3层. */
WORDS(deid_addr_number_suffixes, U"号", U"号楼", U"号院", U"号房", U"栋", U"幢", U"座", U"楼",
      U"单元", U"室", U"层", U"组", U"弄", U"排", U"户", U"队", U"巷", U"门", U"村民小组",
      U"支弄", U"号门", U"区", U"期", U"段");
/* A place name cannot contain these (scanning for its suffix stops there). */
const char32_t deid_addr_stop_chars[] =
    U"在于住是的址系及或等被把将今昨日年月岁患者病医诊治疗术痛热咳因与就来到往参，。、；：:;,!"
    U"?！？（）()[]【】「」“”\"' \t\r\n";
/* ... and cannot start with these (they may be inside: 和平路, 自由路, 向阳路, 前进路). */
const char32_t deid_addr_no_start_chars[] = U"和自由向前后来去到从至为与现原从往其该本此这那一个加";
